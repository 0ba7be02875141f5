"""The classical baseline every model must beat: TF-IDF word 1-2 grams + logistic regression."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from pyfunc.text import Normalizer
from toxic_mlops.evaluation.metrics import known_truth, one_class


class TfidfBaseline:
    """One logistic regression per label on shared TF-IDF features of the normalised text."""

    def __init__(self, normalizer: Normalizer, max_features: int = 200_000, c: float = 4.0) -> None:
        self.vectorizer = TfidfVectorizer(
            preprocessor=normalizer,
            ngram_range=(1, 2),
            min_df=2,
            max_features=max_features,
            sublinear_tf=True,
        )
        self.c = c
        self.models: list[LogisticRegression | float] = []

    @property
    def description(self) -> str:
        """What it is, from its own settings (the model card's baseline line)."""
        low, high = self.vectorizer.ngram_range
        return (
            f"TF-IDF word {low}-{high} grams (up to {self.vectorizer.max_features:,} features, "
            f"sublinear tf) + logistic regression per label (C = {self.c:g})"
        )

    def fit(
        self, texts: Sequence[str], targets: np.ndarray, positive_threshold: float
    ) -> TfidfBaseline:
        features = self.vectorizer.fit_transform(texts)
        self.models = []
        for column in range(targets.shape[1]):
            rows, truth = known_truth(targets, column, positive_threshold)
            if one_class(truth):
                self.models.append(float(truth.mean()) if len(truth) else 0.0)  # constant score
                continue
            model = LogisticRegression(C=self.c, max_iter=1000, solver="liblinear")
            self.models.append(model.fit(features[rows], truth))
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        features = self.vectorizer.transform(texts)
        columns = [
            np.full(features.shape[0], m)
            if isinstance(m, float)
            else m.predict_proba(features)[:, 1]
            for m in self.models
        ]
        return np.stack(columns, axis=1).astype(np.float32)

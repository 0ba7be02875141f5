"""Training in the benchmark's process as the train step does, without MLflow.

`toxic_mlops.data.preprocessing.prepare` gives the splits and the tokenizer; `fit_model` is the
train step's `training.fit` + `assessment.assess` on them, with the served `Scorer` on top;
`fit_baseline` is the evaluate step's TF-IDF + logistic regression on the same train split.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from pyfunc.scoring import Scorer
from toxic_mlops.config import Config, override
from toxic_mlops.data.dataset import TEXT
from toxic_mlops.data.preprocessing import Preprocessed
from toxic_mlops.evaluation.baseline import TfidfBaseline
from toxic_mlops.evaluation.metrics import roc_auc_per_label
from toxic_mlops.model.assessment import TrainedModel, assess
from toxic_mlops.model.training import fit

Predict = Callable[[list[str]], np.ndarray]


@contextmanager
def saved_tokenizer(prepared: Preprocessed) -> Iterator[Path]:
    """The prepared tokenizer as a file, which `training.fit` reads; removed afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tokenizer.json"
        prepared.tokenizer.save(str(path))
        yield path


def varied(config: Config, overrides: dict[str, str]) -> Config:
    """The config with training/model overrides; epochs=0 (the fitted wide path alone) is
    allowed here although a config may not ask for it."""
    overrides = dict(overrides)
    epochs = overrides.pop("epochs", None)
    config = override(config, overrides) if overrides else config
    if epochs is not None:
        config = replace(config, training=replace(config.training, epochs=int(epochs)))
    return config


@dataclass(frozen=True)
class FittedModel:
    trained: TrainedModel
    scorer: Scorer

    @property
    def predict(self) -> Predict:
        return self.scorer.predict_proba

    @property
    def best_epoch(self) -> int:
        return self.trained.fitted.result.best_epoch

    def val_per_epoch(self) -> dict[int, float]:
        """Validation macro ROC-AUC of every epoch (0: the fitted wide path alone)."""
        return {r.epoch: round(r.val_macro_roc_auc, 4) for r in self.trained.fitted.result.history}


def fit_model(config: Config, prepared: Preprocessed, tokenizer_file: Path) -> FittedModel:
    """The config's network trained and assessed on the prepared splits, as the train step does."""
    matrix = prepared.embeddings.matrix if prepared.embeddings else None
    fitted = fit(config, prepared.splits, tokenizer_file, None, matrix)
    trained = assess(fitted, config)
    return FittedModel(trained, scorer(trained))


def scorer(trained: TrainedModel) -> Scorer:
    """What the served model scores with, from a trained model and its spec."""
    return Scorer(trained.fitted.result.network, trained.fitted.encoder, trained.spec)


def fit_baseline(config: Config, train: pd.DataFrame) -> TfidfBaseline:
    """TF-IDF + logistic regression on a train split, as the evaluate step fits it."""
    labels = config.dataset.label_columns
    return TfidfBaseline(config.normalization).fit(
        train[TEXT].tolist(), train[labels].to_numpy(), config.dataset.positive_threshold
    )


def split_aucs(scores: np.ndarray, split: pd.DataFrame, config: Config) -> dict[str, float]:
    """Each label's ROC-AUC of a scorer's scores on a split."""
    labels = config.dataset.label_columns
    return roc_auc_per_label(
        split[labels].to_numpy(np.float32), scores, labels, config.dataset.positive_threshold
    )

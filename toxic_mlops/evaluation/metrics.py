"""Classification metrics on fractional labels (binarised at a threshold), NaN labels ignored."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score


def roc_auc_per_label(
    targets: np.ndarray, probabilities: np.ndarray, labels: list[str], threshold: float
) -> dict[str, float]:
    """ROC-AUC per label; NaN where the rows known for a label hold only one class."""
    scores: dict[str, float] = {}
    for column, label in enumerate(labels):
        known = ~np.isnan(targets[:, column])
        truth = targets[known, column] >= threshold
        if truth.all() or not truth.any():
            scores[label] = float("nan")
        else:
            scores[label] = float(roc_auc_score(truth, probabilities[known, column]))
    return scores


def macro(scores: dict[str, float]) -> float:
    """Mean over the labels that could be scored; NaN when none could."""
    values = [v for v in scores.values() if not np.isnan(v)]
    return float(np.mean(values)) if values else float("nan")

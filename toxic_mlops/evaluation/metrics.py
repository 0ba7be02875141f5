"""Classification metrics on fractional labels (binarised at a threshold), NaN labels ignored."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score


def known_truth(
    targets: np.ndarray, column: int, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """(mask of the rows whose label is known, those labels binarised at threshold)."""
    rows = ~np.isnan(targets[:, column])
    return rows, targets[rows, column] >= threshold


def one_class(truth: np.ndarray) -> bool:
    """True when the labels hold a single class (or none): no AUC or curve is defined."""
    return bool(truth.all() or not truth.any())


def roc_auc_per_label(
    targets: np.ndarray, probabilities: np.ndarray, labels: list[str], threshold: float
) -> dict[str, float]:
    """ROC-AUC per label; NaN where the rows known for a label hold only one class."""
    scores: dict[str, float] = {}
    for column, label in enumerate(labels):
        known, truth = known_truth(targets, column, threshold)
        if one_class(truth):
            scores[label] = float("nan")
        else:
            scores[label] = float(roc_auc_score(truth, probabilities[known, column]))
    return scores


def macro(scores: dict[str, float]) -> float:
    """Mean over the labels that could be scored; NaN when none could."""
    values = [v for v in scores.values() if not np.isnan(v)]
    return float(np.mean(values)) if values else float("nan")

"""Classification metrics on fractional labels (binarised at a threshold), NaN labels ignored."""

from __future__ import annotations

from collections.abc import Callable, Sequence

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


def per_label(
    targets: np.ndarray,
    probabilities: np.ndarray,
    labels: Sequence[str],
    threshold: float,
    score: Callable[[np.ndarray, np.ndarray], float],
    undefined: float,
) -> dict[str, float]:
    """score(truth, scores) per label on its known rows; `undefined` where they hold one class."""
    result: dict[str, float] = {}
    for column, label in enumerate(labels):
        rows, truth = known_truth(targets, column, threshold)
        result[label] = undefined if one_class(truth) else score(truth, probabilities[rows, column])
    return result


def roc_auc_per_label(
    targets: np.ndarray, probabilities: np.ndarray, labels: Sequence[str], threshold: float
) -> dict[str, float]:
    """ROC-AUC per label; NaN where the rows known for a label hold only one class."""
    return per_label(
        targets, probabilities, labels, threshold, lambda t, s: float(roc_auc_score(t, s)), np.nan
    )


def macro(scores: dict[str, float]) -> float:
    """Mean over the labels that could be scored; NaN when none could."""
    values = [v for v in scores.values() if not np.isnan(v)]
    return float(np.mean(values)) if values else float("nan")

"""Percentile bootstrap over rows: intervals of test metrics, paired win probabilities.

A resample is a vector of draw counts per row (rows drawn with replacement), so every metric is
a weighted count over the rows sorted once: ROC-AUC by weighted ranks, PR-AUC by weighted
cumulative counts, thresholded metrics by weighted confusion counts. Resamples go through in
chunks of a bounded number of cells, so memory stays flat whatever the split size.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence

import numpy as np

from toxic_mlops.config import EvaluationConfig
from toxic_mlops.evaluation.metrics import known_truth

CHUNK_CELLS = 4_000_000  # resamples x rows per chunk (float64: 32 MB)
THRESHOLD_METRICS = ("f1", "precision", "recall", "accuracy")
METRICS = ("roc_auc", "pr_auc", *THRESHOLD_METRICS)


def resample_counts(rows: int, settings: EvaluationConfig) -> Iterator[np.ndarray]:
    """Per resample, how often each row was drawn: [chunk, rows] arrays, same seed same draws."""
    rng, resamples = np.random.default_rng(settings.bootstrap_seed), settings.bootstrap_resamples
    chunk = max(1, CHUNK_CELLS // max(rows, 1))
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        drawn = rng.integers(0, rows, size=(size, rows)) + rows * np.arange(size)[:, None]
        yield np.bincount(drawn.ravel(), minlength=size * rows).reshape(size, rows).astype(float)


class _Ranked:
    """One label's known rows sorted by score, grouped by tied score: weighted AUCs per resample."""

    def __init__(self, truth: np.ndarray, scores: np.ndarray) -> None:
        self.order = np.argsort(scores, kind="stable")
        ordered = scores[self.order]
        self.starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        self.truth = truth[self.order]

    def _groups(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weighted positives and negatives per distinct score, ascending: [resamples, groups]."""
        ordered = weights[:, self.order]
        positives = np.add.reduceat(ordered * self.truth, self.starts, axis=1)
        negatives = np.add.reduceat(ordered * ~self.truth, self.starts, axis=1)
        return positives, negatives

    def roc_auc(self, weights: np.ndarray) -> np.ndarray:
        """ROC-AUC per resample (ties count half); NaN where a resample holds one class."""
        return _roc_auc(*self._groups(weights))

    def roc_pr_auc(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """ROC-AUC and average precision (as scikit-learn's) per resample."""
        positives, negatives = self._groups(weights)
        total_pos = positives.sum(axis=1)
        # Precision at each distinct score, counting every row scored at least as high.
        true_above = np.cumsum(positives[:, ::-1], axis=1)
        all_above = true_above + np.cumsum(negatives[:, ::-1], axis=1)
        precision = true_above / np.maximum(all_above, 1e-12)
        average = (positives[:, ::-1] * precision).sum(axis=1) / np.maximum(total_pos, 1e-12)
        roc = _roc_auc(positives, negatives)
        return roc, np.where(np.isnan(roc), np.nan, average)


def _roc_auc(positives: np.ndarray, negatives: np.ndarray) -> np.ndarray:
    """Each positive's share of negatives scored below it (ties half), over all pairs."""
    below = np.cumsum(negatives, axis=1) - negatives
    pairs = positives.sum(axis=1) * negatives.sum(axis=1)
    ordered = (positives * (below + 0.5 * negatives)).sum(axis=1)
    return np.where(pairs > 0, ordered / np.where(pairs > 0, pairs, 1), np.nan)


def _threshold_metrics(
    weights: np.ndarray, truth: np.ndarray, predicted: np.ndarray
) -> dict[str, np.ndarray]:
    """F1, precision, recall and accuracy per resample, as label_metrics computes them."""
    true_pos = weights @ (predicted & truth).astype(float)
    predicted_pos = weights @ predicted.astype(float)
    actual_pos = weights @ truth.astype(float)
    correct = weights @ (predicted == truth).astype(float)
    total = weights.sum(axis=1)
    precision = true_pos / np.maximum(predicted_pos, 1)
    recall = true_pos / np.maximum(actual_pos, 1)
    return {
        "f1": 2 * precision * recall / np.maximum(precision + recall, 1e-12),
        "precision": precision,
        "recall": recall,
        "accuracy": np.where(total > 0, correct / np.maximum(total, 1), np.nan),
    }


def _nanmean(values: np.ndarray, axis: int) -> np.ndarray:
    """Mean over the defined values (the labels scoreable in that resample); NaN when none."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(values, axis=axis)


def resampled_label_metrics(
    targets: np.ndarray,
    probabilities: np.ndarray,
    labels: Sequence[str],
    thresholds: dict[str, float],
    positive_threshold: float,
    settings: EvaluationConfig,
) -> dict[str, np.ndarray]:
    """`<metric>_<label>` and `macro_<metric>` per resample (NaN where a resample has one class)."""
    ranked, truths, predictions, known = [], [], [], []
    for column, label in enumerate(labels):
        rows, truth = known_truth(targets, column, positive_threshold)
        scores = probabilities[rows, column]
        ranked.append(_Ranked(truth, scores))
        truths.append(truth)
        predictions.append(scores >= thresholds[label])
        known.append(rows)
    chunks: dict[str, list[np.ndarray]] = {}
    for counts in resample_counts(len(targets), settings):
        for label, rank, truth, predicted, rows in zip(
            labels, ranked, truths, predictions, known, strict=True
        ):
            weights = counts[:, rows]
            roc, average = rank.roc_pr_auc(weights)
            values = {"roc_auc": roc, "pr_auc": average}
            values.update(_threshold_metrics(weights, truth, predicted))
            for metric, value in values.items():
                chunks.setdefault(f"{metric}_{label}", []).append(value)
    result = {name: np.concatenate(parts) for name, parts in chunks.items()}
    for metric in METRICS:
        per_label = np.stack([result[f"{metric}_{label}"] for label in labels], axis=1)
        result[f"macro_{metric}"] = _nanmean(per_label, axis=1)
    return result


def intervals(resampled: dict[str, np.ndarray], confidence: float) -> dict[str, float]:
    """`<name>_ci_low` and `<name>_ci_high`: percentiles of the defined resampled values."""
    tail = (1 - confidence) / 2 * 100
    result: dict[str, float] = {}
    for name, values in resampled.items():
        defined = values[~np.isnan(values)]
        low, high = np.percentile(defined, [tail, 100 - tail]) if len(defined) else (np.nan,) * 2
        result[f"{name}_ci_low"], result[f"{name}_ci_high"] = float(low), float(high)
    return result


def resampled_macro_auc(
    targets: np.ndarray,
    scorers: Sequence[np.ndarray],
    labels: Sequence[str],
    positive_threshold: float,
    settings: EvaluationConfig,
) -> np.ndarray:
    """Macro ROC-AUC of each scorer on the same resamples: [scorers, resamples]."""
    per_scorer: list[list[np.ndarray]] = [[] for _ in scorers]
    columns = []
    for column in range(len(labels)):
        rows, truth = known_truth(targets, column, positive_threshold)
        columns.append((rows, [_Ranked(truth, scores[rows, column]) for scores in scorers]))
    for counts in resample_counts(len(targets), settings):
        for index in range(len(scorers)):
            aucs = [ranks[index].roc_auc(counts[:, rows]) for rows, ranks in columns]
            per_scorer[index].append(_nanmean(np.stack(aucs, axis=1), axis=1))
    return np.stack([np.concatenate(parts) for parts in per_scorer])


def rankable_labels(
    targets: np.ndarray, labels: Sequence[str], positive_threshold: float, min_positives: int
) -> list[str]:
    """The labels with at least min_positives positives and negatives among their known rows;
    all labels when none has. A label with a handful of positives has an AUC set by where those
    few rows land, and resampling the same few rows cannot show that noise."""
    counts = []
    for column in range(len(labels)):
        _, truth = known_truth(targets, column, positive_threshold)
        counts.append(min(int(truth.sum()), int((~truth).sum())))
    kept = [label for label, count in zip(labels, counts, strict=True) if count >= min_positives]
    return kept or list(labels)


def win_probability(
    targets: np.ndarray,
    candidate: np.ndarray,
    other: np.ndarray,
    labels: Sequence[str],
    positive_threshold: float,
    settings: EvaluationConfig,
) -> float:
    """P(candidate's macro ROC-AUC > other's) over paired resamples of the rows; a tie counts half.

    Both scorers are measured on the very same resampled rows, so the noise of the split is
    shared and only their difference is judged. The macro is over rankable_labels (at least
    settings.min_positives positives). NaN when no resample could score a label.
    """
    kept = rankable_labels(targets, labels, positive_threshold, settings.min_positives)
    columns = [list(labels).index(label) for label in kept]
    ours, theirs = resampled_macro_auc(
        targets[:, columns],
        [candidate[:, columns], other[:, columns]],
        kept,
        positive_threshold,
        settings,
    )
    defined = ~(np.isnan(ours) | np.isnan(theirs))
    if not defined.any():
        return float("nan")
    difference = ours[defined] - theirs[defined]
    return float(np.mean(difference > 0) + 0.5 * np.mean(difference == 0))

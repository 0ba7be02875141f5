"""Test-split metrics per label at thresholds tuned on validation, and the cost of inference."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

from toxic_mlops.evaluation.metrics import known_truth, macro, one_class, per_label


def tune_thresholds(
    targets: np.ndarray, probabilities: np.ndarray, labels: Sequence[str], positive_threshold: float
) -> dict[str, float]:
    """Per label, the decision threshold with the best F1 (on validation data); 0.5 if undefined."""
    return per_label(targets, probabilities, labels, positive_threshold, _best_f1_cut, 0.5)


def _best_f1_cut(truth: np.ndarray, scores: np.ndarray) -> float:
    precision, recall, cuts = precision_recall_curve(truth, scores)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    return float(cuts[int(np.argmax(f1[:-1]))])


def label_metrics(
    targets: np.ndarray,
    probabilities: np.ndarray,
    labels: Sequence[str],
    thresholds: dict[str, float],
    positive_threshold: float,
) -> dict[str, float]:
    """`<metric>_<label>` and `macro_<metric>`: ROC-AUC, PR-AUC, F1, precision, recall, accuracy.

    Each label also gets its support: `positives_<label>` and `negatives_<label>`, counted on
    the rows whose label is known, binarised at positive_threshold.
    """
    metrics: dict[str, float] = {}
    for column, label in enumerate(labels):
        rows, truth = known_truth(targets, column, positive_threshold)
        scores = probabilities[rows, column]
        predicted = scores >= thresholds[label]
        true_positive = float((predicted & truth).sum())
        precision = true_positive / max(predicted.sum(), 1)
        recall = true_positive / max(truth.sum(), 1)
        single = one_class(truth)
        metrics.update(
            {
                f"roc_auc_{label}": np.nan if single else float(roc_auc_score(truth, scores)),
                f"pr_auc_{label}": np.nan
                if single
                else float(average_precision_score(truth, scores)),
                f"f1_{label}": 2 * precision * recall / max(precision + recall, 1e-12),
                f"precision_{label}": precision,
                f"recall_{label}": recall,
                f"accuracy_{label}": float((predicted == truth).mean()) if len(truth) else np.nan,
                f"positive_rate_{label}": float(truth.mean()) if len(truth) else np.nan,
                f"threshold_{label}": thresholds[label],
                f"positives_{label}": float(truth.sum()),
                f"negatives_{label}": float((~truth).sum()),
            }
        )
    for name in ("roc_auc", "pr_auc", "f1", "precision", "recall", "accuracy"):
        metrics[f"macro_{name}"] = macro({label: metrics[f"{name}_{label}"] for label in labels})
    return metrics


COST_BATCH = 256  # comments per batch of the comments/s figure
MEMORY_ROWS = 1000  # comments scored in one call by the peak-memory measurement


def repeated(texts: Sequence[str], rows: int) -> list[str]:
    """Exactly `rows` texts: `texts` in order, repeated as often as needed (none if empty)."""
    texts = list(texts)
    return (texts * (rows // max(len(texts), 1) + 1))[:rows]


def inference_cost(
    predict: Callable[[list[str]], object], texts: Sequence[str], singles: int = 200
) -> dict[str, float]:
    """p50 latency of one comment and comments/s for batches of COST_BATCH, in this process."""
    texts = list(texts)
    predict(texts[:1])
    latencies = []
    for text in repeated(texts, singles):
        started = time.perf_counter()
        predict([text])
        latencies.append(time.perf_counter() - started)
    batch = repeated(texts, COST_BATCH)
    predict(batch)
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        predict(batch)
        runs.append(time.perf_counter() - started)
    return {
        "latency_p50_ms": float(np.percentile(latencies, 50) * 1000),
        "comments_per_s": float(COST_BATCH / min(runs)),
    }

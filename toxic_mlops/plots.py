"""Figures logged as run artifacts: loss, ROC / PR, score and drift histograms, tuning history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")  # steps run headless

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.metrics import precision_recall_curve, roc_curve  # noqa: E402

from toxic_mlops.evaluation.metrics import known_truth, one_class  # noqa: E402

if TYPE_CHECKING:  # the figures take any objects with these fields; no torch import here
    from toxic_mlops.model.training import EpochResult


def loss_curve(history: Sequence[EpochResult]) -> Figure:
    epochs = [r.epoch for r in history]
    figure, (loss_axis, auc_axis) = plt.subplots(1, 2, figsize=(10, 4))
    loss_axis.plot(epochs, [r.train_loss for r in history], marker="o", label="train")
    loss_axis.plot(epochs, [r.val_loss for r in history], marker="o", label="validation")
    loss_axis.set(xlabel="epoch", ylabel="masked BCE", title="Loss")
    loss_axis.legend()
    auc_axis.plot(epochs, [r.val_macro_roc_auc for r in history], marker="o", color="tab:green")
    auc_axis.set(xlabel="epoch", ylabel="macro ROC-AUC", title="Validation macro ROC-AUC")
    figure.tight_layout()
    return figure


def roc_pr_curves(
    targets: np.ndarray, scored: dict[str, np.ndarray], labels: Sequence[str], threshold: float
) -> Figure:
    """One row per label: ROC and precision-recall, one curve per scorer (e.g. model, baseline)."""
    figure, axes = plt.subplots(len(labels), 2, figsize=(10, 3.2 * len(labels)), squeeze=False)
    for row, label in enumerate(labels):
        roc_axis, pr_axis = axes[row]
        known, truth = known_truth(targets, row, threshold)
        for name, probabilities in scored.items():
            if one_class(truth):
                continue  # one class only: no curve
            scores = probabilities[known, row]
            fpr, tpr, _ = roc_curve(truth, scores)
            precision, recall, _ = precision_recall_curve(truth, scores)
            roc_axis.plot(fpr, tpr, label=name)
            pr_axis.plot(recall, precision, label=name)
        roc_axis.plot([0, 1], [0, 1], linestyle=":", color="grey")
        roc_axis.set(
            xlabel="false positive rate", ylabel="true positive rate", title=f"{label}: ROC"
        )
        pr_axis.set(xlabel="recall", ylabel="precision", title=f"{label}: precision-recall")
        roc_axis.legend(fontsize="small")
    figure.tight_layout()
    return figure


def score_histograms(
    targets: np.ndarray, probabilities: np.ndarray, labels: Sequence[str], threshold: float
) -> Figure:
    """Score distribution of positives and negatives per label: overlap is what the model misses."""
    figure, axes = _grid(len(labels))
    for index, (axis, label) in enumerate(zip(axes, labels, strict=True)):
        known, truth = known_truth(targets, index, threshold)
        scores = probabilities[known, index]
        bins = np.linspace(0, 1, 41)
        axis.hist(scores[~truth], bins=bins, alpha=0.6, label="negative", density=True)
        axis.hist(scores[truth], bins=bins, alpha=0.6, label="positive", density=True)
        axis.set(title=label, xlabel="score")
        axis.legend(fontsize="small")
    figure.tight_layout()
    return figure


def _grid(panels: int) -> tuple[Figure, list]:
    """Up to 3 panels a row; the used axes in order (unused ones hidden)."""
    columns = min(3, panels)
    rows = -(-panels // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4 * columns, 3 * rows), squeeze=False)
    flat = [axis for row in axes for axis in row]
    for axis in flat[panels:]:
        axis.axis("off")
    return figure, flat[:panels]


def shift_histograms(
    reference: np.ndarray, current: np.ndarray, names: Sequence[str], xlabel: str
) -> Figure:
    """Per column, the reference distribution against the new batch's (drift monitoring)."""
    figure, axes = _grid(len(names))
    for column, (axis, name) in enumerate(zip(axes, names, strict=True)):
        both = np.concatenate([reference[:, column], current[:, column]])
        bins = np.linspace(both.min(), both.max() + 1e-9, 41)
        axis.hist(reference[:, column], bins=bins, alpha=0.6, label="reference", density=True)
        axis.hist(current[:, column], bins=bins, alpha=0.6, label="new batch", density=True)
        axis.set(title=name, xlabel=xlabel)
        axis.legend(fontsize="small")
    figure.tight_layout()
    return figure


def label_histograms(scores: np.ndarray, labels: Sequence[str]) -> Figure:
    """Per label, how many comments got each score (batch scoring: counts, log scale)."""
    figure, axes = _grid(len(labels))
    for index, (axis, label) in enumerate(zip(axes, labels, strict=True)):
        axis.hist(scores[:, index], bins=np.linspace(0, 1, 41), log=True)
        axis.set(title=f"{label} (n={len(scores):,})", xlabel="score", ylabel="comments")
    figure.tight_layout()
    return figure


def tuning_history(trials: Sequence[Any]) -> Figure:
    """Each Optuna trial's value (pruned ones at their last report) and the best so far."""
    figure, axis = plt.subplots(figsize=(6, 3.5))
    best, best_so_far = -np.inf, []
    for trial in trials:
        complete = trial.state.name == "COMPLETE"
        last = trial.value if complete else max(trial.intermediate_values.values(), default=None)
        if last is None:
            continue
        axis.scatter(
            trial.number, last, marker="o" if complete else "x", color="C0" if complete else "C3"
        )
        if complete:
            best = max(best, last)
            best_so_far.append((trial.number, best))
    if best_so_far:
        axis.step(*zip(*best_so_far, strict=True), where="post", color="C1", label="best so far")
        axis.legend(fontsize="small")
    axis.set(xlabel="trial (x: pruned)", ylabel="val macro ROC-AUC", title="Hyper-parameter search")
    figure.tight_layout()
    return figure

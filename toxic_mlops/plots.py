"""Figures logged with the training run: loss curves and per-label ROC / PR curves."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # steps run headless

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.metrics import precision_recall_curve, roc_curve  # noqa: E402

from toxic_mlops.training import EpochResult  # noqa: E402


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
    targets: np.ndarray, probabilities: np.ndarray, labels: Sequence[str], threshold: float
) -> Figure:
    figure, (roc_axis, pr_axis) = plt.subplots(1, 2, figsize=(11, 4.5))
    for column, label in enumerate(labels):
        known = ~np.isnan(targets[:, column])
        truth = targets[known, column] >= threshold
        if truth.all() or not truth.any():
            continue  # one class only: no curve
        scores = probabilities[known, column]
        fpr, tpr, _ = roc_curve(truth, scores)
        precision, recall, _ = precision_recall_curve(truth, scores)
        roc_axis.plot(fpr, tpr, label=label)
        pr_axis.plot(recall, precision, label=label)
    roc_axis.plot([0, 1], [0, 1], linestyle=":", color="grey")
    roc_axis.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (test)")
    pr_axis.set(xlabel="recall", ylabel="precision", title="Precision-recall (test)")
    roc_axis.legend(fontsize="small")
    figure.tight_layout()
    return figure

"""What the train step reports about a fitted network: split metrics, thresholds, its spec."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from pyfunc.scoring import ModelSpec
from toxic_mlops.config import Config
from toxic_mlops.evaluation.label_metrics import tune_thresholds
from toxic_mlops.evaluation.metrics import macro, roc_auc_per_label
from toxic_mlops.model.batches import predict_split
from toxic_mlops.model.training import Fitted

CPU = torch.device("cpu")  # train() hands the best weights back on the CPU


@dataclass(frozen=True)
class TrainedModel:
    fitted: Fitted
    metrics: dict[str, float]  # best_epoch, {val,test}_loss, _macro_roc_auc, _roc_auc_<label>
    probabilities: dict[str, np.ndarray]  # val and test
    spec: ModelSpec  # what the served model needs besides weights and tokenizer

    def summary(self) -> str:
        return (
            f"best epoch {self.fitted.result.best_epoch}, "
            f"val macro ROC-AUC {self.metrics['val_macro_roc_auc']:.4f}, "
            f"test macro ROC-AUC {self.metrics['test_macro_roc_auc']:.4f}"
        )


def assess(fitted: Fitted, config: Config) -> TrainedModel:
    """Scores val and test, tunes per-label thresholds on val, and builds the ModelSpec."""
    labels, threshold = config.dataset.label_columns, config.dataset.positive_threshold
    metrics: dict[str, float] = {"best_epoch": fitted.result.best_epoch}
    probabilities = {}
    for name in ("val", "test"):
        split = fitted.encoded[name]
        loss, probabilities[name] = predict_split(
            fitted.result.network, fitted.encoder, split, fitted.settings.batch_size, CPU
        )
        aucs = roc_auc_per_label(split.targets, probabilities[name], labels, threshold)
        metrics.update({f"{name}_loss": loss, f"{name}_macro_roc_auc": macro(aucs)})
        metrics.update({f"{name}_roc_auc_{label}": auc for label, auc in aucs.items()})
    thresholds = tune_thresholds(
        fitted.encoded["val"].targets, probabilities["val"], labels, threshold
    )
    spec = ModelSpec(
        network=fitted.network_config,
        labels=labels,
        max_len=fitted.encoder.max_len,  # what the model reads, wide path included
        normalization=fitted.encoder.normalizer,
        thresholds=thresholds,
        lexicon=fitted.encoder.lexicon,
        misread_letters=fitted.encoder.misread_letters,
        frequent_words=fitted.encoder.frequent_words,
        **asdict(config.serving),
    )
    return TrainedModel(fitted, metrics, probabilities, spec)

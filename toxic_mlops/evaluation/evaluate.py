"""The evaluate step's computation: the model against a TF-IDF baseline on the same splits."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from toxic_mlops.config import Config, DatasetConfig
from toxic_mlops.contract import (
    BASELINE_METRIC_PREFIX,
    BIAS_ARTIFACT,
    EVALUATE_ROC_PR_ARTIFACT,
    SCORE_HISTOGRAMS_ARTIFACT,
)
from toxic_mlops.data.dataset import TEXT, identity_columns
from toxic_mlops.evaluation.baseline import TfidfBaseline
from toxic_mlops.evaluation.bias import bias_aucs, final_bias_score
from toxic_mlops.evaluation.label_metrics import inference_cost, label_metrics, tune_thresholds
from toxic_mlops.evaluation.metrics import macro, roc_auc_per_label
from toxic_mlops.evaluation.model_card import model_card
from toxic_mlops.plots import roc_pr_curves, score_histograms

MODEL = "model"
BASELINE = "TF-IDF + LR"
PREFIXES = {MODEL: "", BASELINE: BASELINE_METRIC_PREFIX}
COST_SAMPLE_ROWS = 512
Predict = Callable[[list[str]], np.ndarray]


@dataclass
class Evaluation:
    """Per scorer (MODEL, BASELINE): test metrics, scores, cost and, with identities, bias."""

    targets: dict[str, np.ndarray]  # val and test, [rows, labels]
    scores: dict[str, dict[str, np.ndarray]]  # scorer -> split -> probabilities
    test: dict[str, dict[str, float]] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)  # everything logged as metrics
    cost: dict[str, dict[str, float]] = field(default_factory=dict)
    bias_tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # artifact -> table
    bias: dict[str, float] | None = None

    def summary(self) -> str:
        return (
            f"test macro ROC-AUC model {self.test[MODEL]['macro_roc_auc']:.4f} vs "
            f"{BASELINE} {self.test[BASELINE]['macro_roc_auc']:.4f}; "
            f"model {self.cost[MODEL]['comments_per_s']:,.0f} comments/s, "
            f"p50 {self.cost[MODEL]['latency_p50_ms']:.1f} ms"
        )


def val_macro_auc(
    predict: Predict, splits: dict[str, pd.DataFrame], dataset: DatasetConfig
) -> float:
    """A scorer's macro ROC-AUC on the validation split (Production on the candidate's split)."""
    labels, threshold = dataset.label_columns, dataset.positive_threshold
    val = splits["val"]
    scores = predict(val[TEXT].tolist())
    return macro(roc_auc_per_label(val[labels].to_numpy(np.float32), scores, labels, threshold))


def evaluate(splits: dict[str, pd.DataFrame], predict_model: Predict, config: Config) -> Evaluation:
    """Fits the baseline on train; scores both on val (thresholds) and test (metrics, bias)."""
    dataset = config.dataset
    labels, threshold = dataset.label_columns, dataset.positive_threshold
    baseline = TfidfBaseline(config.normalization).fit(
        splits["train"][TEXT].tolist(), splits["train"][labels].to_numpy(), threshold
    )
    scorers = {MODEL: predict_model, BASELINE: baseline.predict_proba}
    result = Evaluation(
        targets={n: splits[n][labels].to_numpy(dtype=np.float32) for n in ("val", "test")},
        scores={
            scorer: {n: predict(splits[n][TEXT].tolist()) for n in ("val", "test")}
            for scorer, predict in scorers.items()
        },
    )
    for scorer, prefix in PREFIXES.items():
        _score(result, scorer, prefix, labels, threshold)
    sample = splits["test"][TEXT].tolist()[:COST_SAMPLE_ROWS]
    result.cost = {name: inference_cost(predict, sample) for name, predict in scorers.items()}
    for scorer, prefix in PREFIXES.items():
        result.metrics.update({f"{prefix}{k}": v for k, v in result.cost[scorer].items()})
    identities = identity_columns(splits["test"], dataset)
    if identities:
        _score_bias(result, splits["test"], labels, identities, threshold)
    return result


def _score(
    result: Evaluation, scorer: str, prefix: str, labels: list[str], threshold: float
) -> None:
    val, test = result.targets["val"], result.targets["test"]
    scores = result.scores[scorer]
    val_auc = macro(roc_auc_per_label(val, scores["val"], labels, threshold))
    thresholds = tune_thresholds(val, scores["val"], labels, threshold)
    result.test[scorer] = label_metrics(test, scores["test"], labels, thresholds, threshold)
    result.metrics[f"{prefix}val_macro_roc_auc"] = val_auc
    result.metrics.update({f"{prefix}test_{k}": v for k, v in result.test[scorer].items()})


def _score_bias(
    result: Evaluation,
    test: pd.DataFrame,
    labels: list[str],
    identities: list[str],
    threshold: float,
) -> None:
    """The Jigsaw bias metric on the first label, for the model and the baseline."""
    result.bias = {}
    for scorer, prefix in PREFIXES.items():
        frame = test.assign(score=result.scores[scorer]["test"][:, 0])
        per_identity = bias_aucs(frame, "score", labels[0], identities, threshold)
        overall = result.test[scorer][f"roc_auc_{labels[0]}"]
        result.bias[scorer] = final_bias_score(overall, per_identity)
        result.bias_tables[BIAS_ARTIFACT.format(prefix=prefix or "model_")] = per_identity
        result.metrics[f"{prefix}bias_final_score"] = result.bias[scorer]


def figures(result: Evaluation, dataset: DatasetConfig) -> dict[str, Figure]:
    """The evaluate step's plots, by artifact path."""
    labels, threshold, test = dataset.label_columns, dataset.positive_threshold, "test"
    curves = {name: scores[test] for name, scores in result.scores.items()}
    return {
        EVALUATE_ROC_PR_ARTIFACT: roc_pr_curves(result.targets[test], curves, labels, threshold),
        SCORE_HISTOGRAMS_ARTIFACT: score_histograms(
            result.targets[test], result.scores[MODEL][test], labels, threshold
        ),
    }


def card(
    result: Evaluation,
    splits: dict[str, pd.DataFrame],
    dataset: DatasetConfig,
    spans: Mapping[str, Any] | None = None,
) -> str:
    rows = {name: len(part) for name, part in splits.items()}
    return model_card(
        dataset.name,
        rows,
        dataset.label_columns,
        result.test[MODEL],
        result.test[BASELINE],
        result.cost,
        result.bias,
        spans,
    )

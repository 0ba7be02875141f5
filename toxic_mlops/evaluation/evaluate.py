"""The evaluate step's computation: the model against a TF-IDF baseline on the same splits."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from toxic_mlops.config import Config, DatasetConfig, EvaluationConfig
from toxic_mlops.contract import (
    BASELINE_METRIC_PREFIX,
    BASELINE_WIN_PROBABILITY_METRIC,
    BIAS_ARTIFACT,
    BIAS_PROBE_ARTIFACT,
    BIAS_TERMS_ARTIFACT,
    EVALUATE_ROC_PR_ARTIFACT,
    PEAK_RSS_METRIC,
    PRODUCTION_METRIC_PREFIX,
    PRODUCTION_WIN_PROBABILITY_METRIC,
    SCORE_HISTOGRAMS_ARTIFACT,
    VAL_MACRO_AUC_METRIC,
)
from toxic_mlops.data.dataset import TEXT, identity_columns
from toxic_mlops.evaluation.baseline import TfidfBaseline
from toxic_mlops.evaluation.bias import (
    IdentityBias,
    bias_aucs,
    bias_card_section,
    final_bias_score,
    identity_bias,
)
from toxic_mlops.evaluation.bootstrap import (
    intervals,
    rankable_labels,
    resampled_label_metrics,
    win_probability,
)
from toxic_mlops.evaluation.evasion import FAMILIES, AttackSet, Scored, toxic_lexicon
from toxic_mlops.evaluation.label_metrics import (
    COST_BATCH,
    MEMORY_ROWS,
    inference_cost,
    label_metrics,
    repeated,
    tune_thresholds,
)
from toxic_mlops.evaluation.metrics import macro, roc_auc_per_label
from toxic_mlops.evaluation.model_card import (
    DataFacts,
    MeasuredFacts,
    ModelFacts,
    WinFacts,
    model_card,
)
from toxic_mlops.plots import roc_pr_curves, score_histograms

MODEL = "model"
BASELINE = "TF-IDF + LR"
PRODUCTION = "Production"  # scored, and measured, only by the evaluate step (against_production)
PREFIXES = {MODEL: "", BASELINE: BASELINE_METRIC_PREFIX}
COST_SAMPLE_ROWS = 512
Predict = Callable[[list[str]], np.ndarray]


@dataclass
class Evaluation:
    """Per scorer (MODEL, BASELINE): test metrics, scores, cost and, with identities, bias."""

    targets: dict[str, np.ndarray]  # val and test, [rows, labels]
    scores: dict[str, dict[str, np.ndarray]]  # scorer -> split -> probabilities
    baseline_description: str  # what the BASELINE scorer is
    test: dict[str, dict[str, float]] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)  # everything logged as metrics
    cost: dict[str, dict[str, float]] = field(default_factory=dict)
    # scorer (MODEL, PRODUCTION) -> load_rss_mb, peak_rss_mb: measured outside (add_memory)
    memory: dict[str, dict[str, float]] = field(default_factory=dict)
    bias_tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # artifact -> table
    bias: dict[str, float] | None = None
    identity_bias: dict[str, IdentityBias] = field(default_factory=dict)  # terms in the text
    evasion: dict[str, dict[str, float]] = field(default_factory=dict)  # scorer -> figures
    evasion_support: tuple[int, int] = (0, 0)  # toxic comments disguised, clean negatives

    def add_memory(self, scorer: str, figures: Mapping[str, float]) -> dict[str, float]:
        """A scorer's peak-RSS figures, measured in a process of its own (by the caller, on
        memory_sample's comments): kept for the card, added to the metrics and returned as
        metrics (the prefix of PREFIXES, production_ for PRODUCTION)."""
        self.memory[scorer] = dict(figures)
        prefix = PRODUCTION_METRIC_PREFIX if scorer == PRODUCTION else PREFIXES[scorer]
        logged = {prefix + name: value for name, value in figures.items()}
        self.metrics.update(logged)
        return logged

    def summary(self) -> str:
        memory = self.memory.get(MODEL)
        return (
            f"test macro ROC-AUC model {self.test[MODEL]['macro_roc_auc']:.4f} vs "
            f"{BASELINE} {self.test[BASELINE]['macro_roc_auc']:.4f}; "
            f"model {self.cost[MODEL]['comments_per_s']:,.0f} comments/s, "
            f"p50 {self.cost[MODEL]['latency_p50_ms']:.1f} ms"
            + (f", peak memory {memory[PEAK_RSS_METRIC]:,.0f} MB" if memory else "")
        )


def memory_sample(splits: dict[str, pd.DataFrame]) -> list[str]:
    """The comments a peak-memory measurement scores in one call: MEMORY_ROWS test comments
    (repeated when the split holds fewer), the same for every model measured."""
    return repeated(splits["test"][TEXT].tolist(), MEMORY_ROWS)


def against_production(
    result: Evaluation, predict: Predict, splits: dict[str, pd.DataFrame], config: Config
) -> dict[str, float]:
    """Production on the model's validation split: its val macro ROC-AUC and P(the model's is
    higher), paired on the same resampled rows; added to result.metrics and returned."""
    dataset = config.dataset
    labels, threshold = dataset.label_columns, dataset.positive_threshold
    scores = predict(splits["val"][TEXT].tolist())
    targets = result.targets["val"]
    model = result.scores[MODEL]["val"]
    figures = {
        PRODUCTION_METRIC_PREFIX + VAL_MACRO_AUC_METRIC: macro(
            roc_auc_per_label(targets, scores, labels, threshold)
        ),
        PRODUCTION_WIN_PROBABILITY_METRIC: win_probability(
            targets, model, scores, labels, threshold, config.evaluation
        ),
    }
    result.metrics.update(figures)
    return figures


def scored_identity_bias(
    predict: Predict, splits: dict[str, pd.DataFrame], config: Config
) -> tuple[dict[str, np.ndarray], IdentityBias]:
    """A scorer's val and test scores, and its identity bias at the first label's threshold
    tuned on validation (Production for the bias gate, benchmarks)."""
    labels, threshold = config.dataset.label_columns, config.dataset.positive_threshold
    targets = {n: splits[n][labels].to_numpy(np.float32) for n in ("val", "test")}
    scores = {n: predict(splits[n][TEXT].tolist()) for n in ("val", "test")}
    cut = tune_thresholds(targets["val"], scores["val"], labels, threshold)[labels[0]]
    found = identity_bias(
        splits["test"][TEXT].tolist(),
        targets["test"][:, 0],
        scores["test"][:, 0],
        predict,
        cut,
        config.bias,
        config.normalization,
        threshold,
    )
    return scores, found


def evaluate(splits: dict[str, pd.DataFrame], predict_model: Predict, config: Config) -> Evaluation:
    """Fits the baseline on train; scores both on val (thresholds) and test (metrics, bias)."""
    dataset = config.dataset
    labels, threshold = dataset.label_columns, dataset.positive_threshold
    baseline = TfidfBaseline(config.normalization).fit(
        splits["train"][TEXT].tolist(), splits["train"][labels].to_numpy(), threshold
    )
    scorers = {MODEL: predict_model, BASELINE: baseline.predict_proba}
    result = Evaluation(
        baseline_description=baseline.description,
        targets={n: splits[n][labels].to_numpy(dtype=np.float32) for n in ("val", "test")},
        scores={
            scorer: {n: predict(splits[n][TEXT].tolist()) for n in ("val", "test")}
            for scorer, predict in scorers.items()
        },
    )
    for scorer, prefix in PREFIXES.items():
        _score(result, scorer, prefix, dataset, config.evaluation)
    result.metrics[BASELINE_WIN_PROBABILITY_METRIC] = win_probability(
        result.targets["val"],
        result.scores[MODEL]["val"],
        result.scores[BASELINE]["val"],
        labels,
        threshold,
        config.evaluation,
    )
    sample = splits["test"][TEXT].tolist()[:COST_SAMPLE_ROWS]
    result.cost = {name: inference_cost(predict, sample) for name, predict in scorers.items()}
    for scorer, prefix in PREFIXES.items():
        result.metrics.update({f"{prefix}{k}": v for k, v in result.cost[scorer].items()})
    identities = identity_columns(splits["test"], dataset)
    if identities:
        _score_bias(result, splits["test"], labels, identities, threshold)
    _score_identity_terms(result, splits["test"], scorers, config)
    _score_evasion(result, splits, scorers, config)
    return result


def _score_evasion(
    result: Evaluation, splits: dict[str, pd.DataFrame], scorers: dict[str, Predict], config: Config
) -> None:
    """Each attack family on the test split's toxic comments, first label, both scorers; the
    words disguised are the training split's most toxic-looking ones (evaluation/evasion.py)."""
    dataset, settings = config.dataset, config.evaluation
    label, threshold = dataset.label_columns[0], dataset.positive_threshold
    train, test = splits["train"], splits["test"]
    toxic = train[label].fillna(0).to_numpy() >= threshold
    lexicon = toxic_lexicon(train[TEXT].tolist(), toxic, settings.evasion_lexicon_size)
    attacks = AttackSet.build(
        test[TEXT].tolist(),
        result.targets["test"],
        threshold,
        lexicon,
        FAMILIES,
        settings.evasion_max_negatives,
    )
    if not attacks.toxic or not attacks.negatives:
        return  # nothing to disguise, or nothing to rank against: the card says so
    result.evasion_support = (len(attacks.toxic), len(attacks.negatives))
    for scorer, prefix in PREFIXES.items():
        cut = result.test[scorer][f"threshold_{label}"]
        figures = Scored.of(lambda batch, s=scorer: scorers[s](batch)[:, 0], attacks).figures(cut)
        result.evasion[scorer] = figures
        result.metrics.update({f"{prefix}evasion_{k}": v for k, v in figures.items()})


def _score(
    result: Evaluation,
    scorer: str,
    prefix: str,
    dataset: DatasetConfig,
    settings: EvaluationConfig,
) -> None:
    """Test metrics with their support and bootstrap intervals, at thresholds tuned on val."""
    labels, threshold = dataset.label_columns, dataset.positive_threshold
    val, test = result.targets["val"], result.targets["test"]
    scores = result.scores[scorer]
    val_auc = macro(roc_auc_per_label(val, scores["val"], labels, threshold))
    thresholds = tune_thresholds(val, scores["val"], labels, threshold)
    result.test[scorer] = label_metrics(test, scores["test"], labels, thresholds, threshold)
    resampled = resampled_label_metrics(
        test, scores["test"], labels, thresholds, threshold, settings
    )
    result.test[scorer].update(intervals(resampled, settings.confidence))
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


def _score_identity_terms(
    result: Evaluation, test: pd.DataFrame, scorers: dict[str, Predict], config: Config
) -> None:
    """Bias from identity terms in the text and the template probe, on the first label (none
    when bias.identity_terms lists no term)."""
    if not any(config.bias.identity_terms.values()):
        return
    label, threshold = config.dataset.label_columns[0], config.dataset.positive_threshold
    for scorer, prefix in PREFIXES.items():
        found = identity_bias(
            test[TEXT].tolist(),
            result.targets["test"][:, 0],
            result.scores[scorer]["test"][:, 0],
            scorers[scorer],
            result.test[scorer][f"threshold_{label}"],
            config.bias,
            config.normalization,
            threshold,
        )
        result.identity_bias[scorer] = found
        result.metrics.update({f"{prefix}{k}": v for k, v in found.metrics().items()})
        artifact = prefix or "model_"
        result.bias_tables[BIAS_TERMS_ARTIFACT.format(prefix=artifact)] = found.term.per_term
        result.bias_tables[BIAS_PROBE_ARTIFACT.format(prefix=artifact)] = found.probe.per_term


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
    config: Config,
    model: ModelFacts,
    sources: list[str],
    production: str = "",
    spans: Mapping[str, Any] | None = None,
) -> str:
    """The model card from what this evaluation measured and what the run read and kept;
    production: the name/version scored on the validation split, if one was."""
    dataset = config.dataset
    rows = {name: len(part) for name, part in splits.items()}
    data = DataFacts.from_config(config, sources, rows)
    wins = WinFacts(
        rankable_labels(
            result.targets["val"],
            dataset.label_columns,
            dataset.positive_threshold,
            config.evaluation.min_positives,
        ),
        {
            "the TF-IDF baseline": result.metrics[BASELINE_WIN_PROBABILITY_METRIC],
            **(
                {f"Production ({production})": result.metrics[PRODUCTION_WIN_PROBABILITY_METRIC]}
                if production
                else {}
            ),
        },
    )
    measured = MeasuredFacts(
        result.test[MODEL],
        result.test[BASELINE],
        result.baseline_description,
        result.cost,
        COST_BATCH,
        result.bias,
        bias_card_section(result.identity_bias, dataset.label_columns[0]),
        result.evasion,
        result.evasion_support,
        {
            f"Production ({production})" if scorer == PRODUCTION else scorer: figures
            for scorer, figures in result.memory.items()
        },
        MEMORY_ROWS,
    )
    return model_card(data, model, measured, config.evaluation, wins, spans)

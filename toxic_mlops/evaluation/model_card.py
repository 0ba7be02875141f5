"""The model card, written from facts: the config and data the run read, what training kept, and
the evaluate step's figures with their support and bootstrap intervals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyfunc.text import Normalizer
from toxic_mlops.config import Config, EvaluationConfig
from toxic_mlops.contract import (
    LOAD_RSS_METRIC,
    NB_SCALED_LABELS_PARAM,
    PEAK_RSS_METRIC,
    WIDE_SOLVER_PARAM,
)
from toxic_mlops.spans.metrics import card_section

TOO_FEW = "too few positives to rank"
CARD_METRICS = {"roc_auc": "ROC-AUC", "pr_auc": "PR-AUC", "f1": "F1"}


@dataclass(frozen=True)
class DataFacts:
    """The data a model was trained and tested on."""

    name: str
    description: str
    sources: list[str]
    rows: Mapping[str, int]
    labels: list[str]
    positive_threshold: float
    normalization: Normalizer

    @classmethod
    def from_config(cls, config: Config, sources: list[str], rows: Mapping[str, int]) -> DataFacts:
        dataset = config.dataset
        return cls(
            dataset.name,
            dataset.description,
            sources,
            rows,
            dataset.label_columns,
            dataset.positive_threshold,
            config.normalization,
        )


@dataclass(frozen=True)
class ModelFacts:
    """What the train run fitted and kept, read from its logged params and metrics."""

    best_epoch: int | None  # None: not recorded by the train run
    epochs: int
    max_len: int  # tokens the BiLSTM reads
    ngram_max_len: int  # tokens the wide path reads; 0: as many as the BiLSTM
    ngram_buckets: int  # 0: no wide path
    ngram_c: float  # > 0: the wide path was fitted first by logistic regression, then frozen
    ngram_nb: bool  # that regression was to be fitted on NB-scaled features (NBSVM) ...
    ngram_nb_min_rows: int  # ... for labels with at least this many rows of each class
    nb_scaled_labels: list[str] | None  # the labels that were (None: not recorded by the run)
    wide_solver: str  # liblinear or lbfgs ("": not recorded by the run)
    char_ngram_max: int  # > 0: the wide path also reads each token's char 2..N-grams
    embedding_dim: int
    hidden_size: int
    num_layers: int

    @classmethod
    def from_run(cls, params: Mapping[str, str], metrics: Mapping[str, float]) -> ModelFacts:
        """From a train run's `model.*` / `training.*` params and its `best_epoch` metric."""
        best = metrics.get("best_epoch")
        return cls(
            best_epoch=None if best is None else int(best),
            epochs=int(params["training.epochs"]),
            max_len=int(params["training.max_len"]),
            ngram_max_len=int(params.get("model.ngram_max_len", 0)),
            ngram_buckets=int(params.get("model.ngram_buckets", 0)),
            ngram_c=float(params.get("training.ngram_c", 0)),
            ngram_nb=params.get("training.ngram_nb", "False") == "True",
            ngram_nb_min_rows=int(params.get("training.ngram_nb_min_rows", 0)),
            nb_scaled_labels=(
                None
                if NB_SCALED_LABELS_PARAM not in params
                else [label for label in params[NB_SCALED_LABELS_PARAM].split(",") if label]
            ),
            wide_solver=params.get(WIDE_SOLVER_PARAM, ""),
            char_ngram_max=int(params.get("model.char_ngram_max", 0)),
            embedding_dim=int(params["model.embedding_dim"]),
            hidden_size=int(params["model.hidden_size"]),
            num_layers=int(params["model.num_layers"]),
        )

    @property
    def wide_reads(self) -> int:
        return max(self.ngram_max_len, self.max_len) if self.ngram_buckets else 0

    @property
    def wide_path_alone(self) -> bool:
        """Epoch 0 kept: the fitted wide path, the deep network still at its initial weights."""
        return bool(self.ngram_buckets) and self.best_epoch == 0


@dataclass(frozen=True)
class WinFacts:
    """The gate's evidence: P(this model's val macro ROC-AUC is higher) against each scorer."""

    labels: list[str]  # the labels the macro is over (enough validation positives)
    p_better: Mapping[str, float]  # scorer -> probability


def _deep(model: ModelFacts) -> str:
    return (
        f"a {model.num_layers}-layer BiLSTM (embeddings {model.embedding_dim}, "
        f"hidden size {model.hidden_size})"
    )


def _nb_scaling(model: ModelFacts) -> str:
    """Which labels the wide path's regression was fitted on NB-scaled features for."""
    rule = f"at least {model.ngram_nb_min_rows:,} training rows of each class"
    if model.nb_scaled_labels is None:
        return f" on Naive-Bayes-scaled features (NBSVM; for the labels with {rule})"
    if not model.nb_scaled_labels:
        return f" (NB scaling was on, but no label had {rule}, so none was scaled)"
    scaled = ", ".join(model.nb_scaled_labels)
    return f" on Naive-Bayes-scaled features for {scaled} (NBSVM; the labels with {rule})"


def _wide(model: ModelFacts) -> str:
    scaled = _nb_scaling(model) if model.ngram_nb else ""
    solver = " by L-BFGS" if model.wide_solver == "lbfgs" else ""  # else as TF-IDF + LR's
    how = (
        f"fitted first by logistic regression{scaled} with C = {model.ngram_c:g}{solver}, "
        "then frozen"
        if model.ngram_c > 0
        else "trained jointly with the deep network"
    )
    chars = f" and their character 2-{model.char_ngram_max}-grams" if model.char_ngram_max else ""
    return (
        f"a wide path (a linear model on {model.ngram_buckets:,} hashed token n-grams{chars}, "
        f"{how})"
    )


def describe_model(model: ModelFacts) -> list[str]:
    """What was kept and what it reads, from the train run's facts."""
    if not model.ngram_buckets:
        kept = f"**Model**: {_deep(model)}"
        kept += (
            f", weights of epoch {model.best_epoch} of {model.epochs} (best validation macro "
            "ROC-AUC)."
            if model.best_epoch is not None
            else f", trained {model.epochs} epochs (the epoch kept was not recorded)."
        )
        reads = f"It reads the first {model.max_len} sub-word tokens of a text."
        return [kept, "", reads]
    if model.wide_path_alone:
        kept = (
            f"**Model**: epoch 0 was kept: {_wide(model)} on its own. None of the "
            f"{model.epochs} epochs of {_deep(model)} improved the validation macro ROC-AUC: "
            "the deep network did not improve validation, so it stays at its initial weights "
            "and the scores are in effect those of the linear n-gram model."
        )
    elif model.best_epoch is None:
        kept = (
            f"**Model**: {_deep(model)} plus {_wide(model)}, trained {model.epochs} epochs "
            "(the epoch kept was not recorded)."
        )
    else:
        kept = (
            f"**Model**: {_deep(model)} plus {_wide(model)}, their logits summed; weights of "
            f"epoch {model.best_epoch} of {model.epochs} trained (best validation macro ROC-AUC)."
        )
    if model.wide_reads > model.max_len:
        reads = (
            f"The BiLSTM reads the first {model.max_len} sub-word tokens of a text, the wide "
            f"path the first {model.wide_reads}."
        )
    else:
        reads = f"Both paths read the first {model.max_len} sub-word tokens of a text."
    return [kept, "", reads]


def _normalization(normalizer: Normalizer) -> str:
    steps = ["Unicode NFKC"]
    steps += ["HTML tags stripped"] if normalizer.strip_html else []
    steps += ["invisible characters dropped"] if normalizer.drop_invisible else []
    steps += ["look-alike letters folded"] if normalizer.fold_lookalikes else []
    steps += ["decorated letter forms folded"] if normalizer.fold_letter_forms else []
    steps += ["URLs replaced by one token"] if normalizer.replace_urls else []
    steps += ["lower-cased"] if normalizer.lowercase else []
    steps += ["spaced-out letters joined"] if normalizer.join_spaced_letters else []
    steps += ["leetspeak read as letters"] if normalizer.undo_leetspeak else []
    if normalizer.max_char_repeat > 0:
        steps.append(f"runs of a character cut to {normalizer.max_char_repeat}")
    return ", ".join(steps)


def _sources(sources: Sequence[str]) -> str:
    return ", ".join(f"`{source}`" for source in sources) if sources else "a local folder"


def _value(figures: Mapping[str, float], key: str) -> str:
    value = figures.get(key, float("nan"))
    if value != value:  # NaN != NaN
        return "n/a"
    low, high = figures.get(f"{key}_ci_low"), figures.get(f"{key}_ci_high")
    if low is None or high is None or low != low:
        return f"{value:.4f}"
    return f"{value:.4f} ({low:.3f}-{high:.3f})"


def _probability(value: float) -> str:
    return "n/a" if value != value else f"{value:.2f}"


def _metric_key(metric: str, label: str) -> str:
    return f"macro_{metric}" if label == "macro" else f"{metric}_{label}"


def too_few_positives(
    figures: Mapping[str, float], labels: Sequence[str], minimum: int
) -> list[str]:
    """The labels whose test split holds fewer than `minimum` positives."""
    return [label for label in labels if figures.get(f"positives_{label}", 0) < minimum]


def metrics_table(
    labels: Sequence[str],
    model: Mapping[str, float],
    baseline: Mapping[str, float],
    min_positives: int,
) -> list[str]:
    """Per label: support, then each metric with its interval, model and baseline."""
    scarce = set(too_few_positives(model, labels, min_positives))
    header = " | ".join(f"{name} | baseline {name}" for name in CARD_METRICS.values())
    lines = [
        f"| label | positives / negatives | {header} |",
        "|---|---|" + "---|" * 2 * len(CARD_METRICS),
    ]
    for label in [*labels, "macro"]:
        support = (
            f"{model[f'positives_{label}']:,.0f} / {model[f'negatives_{label}']:,.0f}"
            if label != "macro"
            else ""
        )
        if label in scarce:
            support += f" ({TOO_FEW})"
        cells = [
            _value(source, _metric_key(metric, label))
            for metric in CARD_METRICS
            for source in (model, baseline)
        ]
        lines.append(f"| {label} | {support} | " + " | ".join(cells) + " |")
    return lines


def limits(data: DataFacts, model: ModelFacts, scarce: Sequence[str], has_bias: bool) -> list[str]:
    """What the card's figures do not cover, derived from the config, the data and the model."""
    reads = model.wide_reads if model.wide_path_alone else model.max_len
    lines = [
        f"- A text is read up to its first {reads} sub-word tokens"
        + (
            f" by the BiLSTM ({model.wide_reads} by the wide path)"
            if not model.wide_path_alone and model.wide_reads > model.max_len
            else ""
        )
        + ": what comes after does not change the score.",
        f"- Trained and tested on {data.description or data.name} only: text from other "
        "sources, languages or communities was not measured here.",
    ]
    if scarce:
        lines.append(
            f"- {', '.join(scarce)}: too few positives in the test split to rank; their "
            "figures are shown with intervals but say little."
        )
    if not has_bias:
        lines.append(
            "- Neither identity columns nor identity terms (bias.identity_terms): bias towards "
            "comments that mention an identity is not measured on this card."
        )
    return lines


@dataclass(frozen=True)
class MeasuredFacts:
    """What the evaluate step measured on the test split, as the card shows it."""

    test: Mapping[str, float]  # the model's figures (label_metrics + intervals)
    baseline_test: Mapping[str, float]
    baseline: str  # what the baseline is (TfidfBaseline.description)
    cost: Mapping[str, Mapping[str, float]]  # scorer -> latency_p50_ms, comments_per_s
    cost_batch: int  # comments per batch of the comments/s figure
    bias_score: Mapping[str, float] | None = None  # Jigsaw bias AUCs (identity columns)
    identity_bias: Sequence[str] = ()  # evaluation.bias.bias_card_section's lines
    # scorer -> evaluation.evasion figures (clean_* and <family>_*), first label; and the
    # (disguised toxic comments, clean negatives) they were measured on
    evasion: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    evasion_support: tuple[int, int] = (0, 0)
    # scorer -> load_rss_mb, peak_rss_mb of a fresh process that loaded the logged model and
    # scored memory_rows comments in one call (the model, and Production when it was measured)
    memory: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    memory_rows: int = 0


def _data_section(data: DataFacts) -> list[str]:
    return [
        f"**Data**: `{data.name}`"
        + (f", {data.description}" if data.description else "")
        + f"; read from {_sources(data.sources)}. Train / val / test rows: "
        + " / ".join(f"{data.rows[s]:,}" for s in ("train", "val", "test"))
        + f". Labels: {', '.join(data.labels)}, positive when >= {data.positive_threshold:g}. "
        + f"Text normalisation: {_normalization(data.normalization)}."
    ]


def _test_section(
    data: DataFacts, measured: MeasuredFacts, settings: EvaluationConfig
) -> list[str]:
    return [
        "## Test metrics",
        "",
        f"Thresholds for F1 tuned on validation. In brackets: {settings.confidence:.0%} "
        f"percentile bootstrap interval over the test rows ({settings.bootstrap_resamples:,} "
        "resamples). Support counts the rows whose label is known.",
        "",
        *metrics_table(data.labels, measured.test, measured.baseline_test, settings.min_positives),
    ]


def _gate_section(data: DataFacts, wins: WinFacts, settings: EvaluationConfig) -> list[str]:
    return [
        "## Better than what it would replace? (the promotion gate's evidence)",
        "",
        f"Paired bootstrap over the {data.rows['val']:,} validation rows: the probability that "
        f"this model's macro ROC-AUC over {', '.join(wins.labels)} is higher "
        f"(labels with fewer than {settings.min_positives} positives there are left out).",
        "",
        *[f"- than {other}: {_probability(p)}" for other, p in wins.p_better.items()],
    ]


def _memory_cell(memory: Mapping[str, float] | None) -> str:
    if not memory:
        return "not measured"
    return f"{memory[LOAD_RSS_METRIC]:,.0f} MB / {memory[PEAK_RSS_METRIC]:,.0f} MB"


def _cost_section(measured: MeasuredFacts) -> list[str]:
    """Speed per scorer (in-process) and, when measured, the peak memory of the logged models."""
    memory = measured.memory
    header = f"| | p50 latency, 1 comment | comments/s, batches of {measured.cost_batch} |"
    if memory:
        header += f" peak memory, loaded / + {measured.memory_rows:,} comments |"
    lines = ["## Inference cost (this machine)", "", header, "|---" * (3 + bool(memory)) + "|"]
    for name in [*measured.cost, *(name for name in memory if name not in measured.cost)]:
        cost = measured.cost.get(name)
        cells = (
            [f"{cost['latency_p50_ms']:.1f} ms", f"{cost['comments_per_s']:,.0f}"]
            if cost
            else ["not measured here"] * 2
        )
        cells += [_memory_cell(memory.get(name))] if memory else []
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    note = "Latency and comments/s in this process."
    if memory:
        note += (
            " Memory: peak RSS of a fresh process that loads the logged model through MLflow "
            "(Python, MLflow and torch included, as in a server), then scores "
            f"{measured.memory_rows:,} test comments in one call."
        )
        unmeasured = [name for name in measured.cost if name not in memory]
        if unmeasured:
            note += f" {', '.join(unmeasured)}: no logged model, not measured."
    return [*lines, "", note]


def _bias_section(measured: MeasuredFacts) -> list[str]:
    lines = []
    if measured.bias_score:
        lines += ["", "## Unintended bias (Jigsaw metric, first label)", ""]
        lines += [f"- {name}: {_value(measured.bias_score, name)}" for name in measured.bias_score]
    return lines + list(measured.identity_bias)


def _evasion_section(data: DataFacts, measured: MeasuredFacts) -> list[str]:
    """One row per attack family: the model's ROC-AUC, share still flagged and false positives
    beside clean text, and the baseline's ROC-AUC."""
    if not measured.evasion:
        return []
    model, *others = measured.evasion.values()
    other = others[0] if others else {}
    families = [key.removesuffix("_auc") for key in model if key.endswith("_auc")]
    toxic, negatives = measured.evasion_support
    lines = [
        "",
        f"## Disguised words ({data.labels[0]}; docs/evasion.md)",
        "",
        f"{toxic:,} toxic test comments, each toxic-looking word disguised, against {negatives:,} "
        "clean ones (for false positives, a fifth of their words disguised).",
        "",
        "| attack | ROC-AUC | flagged | false pos. | baseline ROC-AUC |",
        "|---|---|---|---|---|",
    ]
    for family in families:  # "clean" first: what each attack is measured against
        lines.append(
            f"| {family.replace('_', ' ')} | {model[f'{family}_auc']:.3f} | "
            f"{model[f'{family}_flagged']:.0%} | {model[f'{family}_fp']:.0%} | "
            f"{other.get(f'{family}_auc', float('nan')):.3f} |"
        )
    return lines


def model_card(
    data: DataFacts,
    model: ModelFacts,
    measured: MeasuredFacts,
    settings: EvaluationConfig,
    wins: WinFacts,
    spans: Mapping[str, Any] | None = None,
) -> str:
    """Markdown: data, model kept, test metrics (support, intervals), cost, bias, limits."""
    scarce = too_few_positives(measured.test, data.labels, settings.min_positives)
    has_bias = bool(measured.bias_score or measured.identity_bias)
    lines = [
        "# Model card",
        "",
        *_data_section(data),
        "",
        *describe_model(model),
        "",
        f"**Baseline**: {measured.baseline}, trained and scored on the same split.",
        "",
        *_test_section(data, measured, settings),
        "",
        *_gate_section(data, wins, settings),
        "",
        *_cost_section(measured),
        *_bias_section(measured),
        *(card_section(spans) if spans else []),
        "",
        "## Limits",
        "",
        *limits(data, model, scarce, has_bias),
        # Last: what the registry's description may cut (the full card stays an artifact).
        *_evasion_section(data, measured),
        "",
    ]
    return "\n".join(lines)

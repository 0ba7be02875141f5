"""The typed configuration: one frozen dataclass per YAML section, built and validated once.

`load_config(path, overrides)` is the only way in: it reads the YAML, applies `-P name=value`
overrides (strings, cast to the field's type), checks every section and the rules between them,
and raises one ConfigError naming every problem. Everything else takes the typed parts it needs.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields, make_dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from pyfunc.network_config import NGRAM_WEIGHTINGS, NetworkConfig
from pyfunc.text import Normalizer
from toxic_mlops.errors import PipelineError

# What a step uses when it is given no config and none is recorded where it reads from.
DEFAULT_CONFIG_PATH = "configs/toxic.yaml"
# The sections a train (or tune) run may override with -P name=value.
TUNABLE_SECTIONS = ("model", "training", "robustness")
# ... and a train run also where it trains (-P processes=2 -P master=spark://host:7077).
TRAIN_SECTIONS = (*TUNABLE_SECTIONS, "distributed")
TRUE_WORDS, FALSE_WORDS = {"true", "1", "yes"}, {"false", "0", "no"}
SEARCH_KINDS = ("int", "float", "categorical")


class ConfigError(PipelineError, ValueError):
    """A configuration file or override that cannot be used; the message says which key."""


def parse_bool(raw: str, key: str) -> bool:
    """The one reading of a command-line flag: true/1/yes or false/0/no, any case."""
    lowered = str(raw).strip().lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise ConfigError(f"{key}: expected true or false, got {raw!r}")


def broken(rules: Mapping[str, bool]) -> list[str]:
    """The rules (message -> holds) that do not hold: what a section's `problems()` returns."""
    return [rule for rule, holds in rules.items() if not holds]


@dataclass(frozen=True)
class DatasetConfig:
    """Where the data comes from and what its columns mean."""

    name: str
    text_column: str
    label_columns: list[str]
    # What the texts are (e.g. "English Wikipedia talk-page comments"): the model card's domain.
    description: str = ""
    sources: list[str] = field(default_factory=list)
    sha256: list[str] = field(default_factory=list)
    allow_missing_labels: bool = False
    stratify_label: str | None = None
    positive_threshold: float = 0.5
    identity_columns: list[str] = field(default_factory=list)
    # Other names the columns go by in some sources, e.g. {review: text} for an IMDB CSV.
    column_aliases: dict[str, str] = field(default_factory=dict)
    # String labels to numbers, per label column, e.g. {sentiment: {pos: 1, neg: 0}}; rows whose
    # label is not listed (IMDB's unlabelled reviews) are dropped.
    label_values: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def stratify_column(self) -> str:
        return self.stratify_label or self.label_columns[0]

    def problems(self) -> list[str]:
        return broken(
            {
                "dataset.label_columns must name at least one label": bool(self.label_columns),
                "dataset.stratify_label must be one of dataset.label_columns": (
                    self.stratify_label is None or self.stratify_label in self.label_columns
                ),
            }
        )


@dataclass(frozen=True)
class SampleConfig:
    fraction: float = 1.0
    seed: int = 42

    def problems(self) -> list[str]:
        return broken({"sample.fraction must be in (0, 1]": 0 < self.fraction <= 1})


@dataclass(frozen=True)
class SplitConfig:
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    seed: int = 42

    def problems(self) -> list[str]:
        return broken(
            {
                "split.val_fraction and split.test_fraction must be > 0": (
                    self.val_fraction > 0 and self.test_fraction > 0
                ),
                "split.val_fraction + split.test_fraction must be < 1": (
                    self.val_fraction + self.test_fraction < 1
                ),
            }
        )


@dataclass(frozen=True)
class TokenizerConfig:
    vocab_size: int = 30000
    min_frequency: int = 2

    def problems(self) -> list[str]:
        return broken(
            {
                "tokenizer.vocab_size and tokenizer.min_frequency must be >= 1": (
                    self.vocab_size >= 1 and self.min_frequency >= 1
                )
            }
        )


# The `model` section: the network's sizes, i.e. pyfunc.network_config.NetworkConfig without what
# data decides. Derived from it, so a setting and its default are defined once, where it is used.
# Plus where the embedding layer starts from, which training needs and the served network not:
# pretrained_embeddings, a GloVe/fastText text file (path or URL, .gz too; "" = random) whose
# dimension must be model.embedding_dim, and freeze_embeddings, to keep those vectors as they are.
DATA_DECIDED = ("vocab_size", "num_labels", "padding_idx", "deep_max_len", "char_ngram_slots")
EMBEDDING_SOURCE = {"pretrained_embeddings": "", "freeze_embeddings": False}


def _network_settings(model: Any) -> dict[str, Any]:
    """The model section's NetworkConfig fields (what the served network is built from)."""
    return {k: v for k, v in asdict(model).items() if k not in EMBEDDING_SOURCE}


def _model_problems(model: Any) -> list[str]:
    return broken(
        {
            f"model.ngram_weighting must be one of {NGRAM_WEIGHTINGS}": (
                model.ngram_weighting in NGRAM_WEIGHTINGS
            ),
            # Part of the wide path: with ngram_buckets 0 there is none, and no char n-grams.
            "model.char_ngram_max must be 0 (off) or >= 2, and > 0 needs model.ngram_weighting: "
            "tfidf": (
                model.char_ngram_max == 0
                or model.ngram_buckets <= 0
                or (model.char_ngram_max >= 2 and model.ngram_weighting == "tfidf")
            ),
        }
    )


ModelConfig = make_dataclass(
    "ModelConfig",
    [
        (f.name, f.type, field(default=f.default))
        for f in fields(NetworkConfig)
        if f.name not in DATA_DECIDED
    ]
    + [(name, type(default), field(default=default)) for name, default in EMBEDDING_SOURCE.items()],
    frozen=True,
    namespace={"network_settings": _network_settings, "problems": _model_problems},
)
ModelConfig.__module__ = __name__  # where typing.get_type_hints resolves its field types


@dataclass(frozen=True)
class TrainingConfig:
    epochs: int = 4
    batch_size: int = 512
    learning_rate: float = 1e-3
    # The wide n-gram path is a linear model: it needs far larger steps than the LSTM.
    ngram_learning_rate: float = 0.03
    # > 0: the wide path is fitted first, alone, as a logistic regression with this inverse L2
    # strength (scikit-learn's C), then frozen while the deep network learns what it misses.
    # 0: it is trained with the deep network by Adam at ngram_learning_rate.
    ngram_c: float = 0.0
    # >= 2 (with ngram_c > 0): the deep network trains against K-fold out-of-fold wide-path logits
    # (each fitted without the row), so it learns what the wide path misses on unseen text; 0: it
    # trains against the frozen path fitted on every row, which nearly fits them.
    ngram_folds: int = 0
    # true (with ngram_c > 0, like ngram_folds): the wide path's regression is fitted on its
    # features times their Naive Bayes log-count ratios (NBSVM, Wang & Manning 2012), folded into
    # its weights.
    ngram_nb: bool = False
    # ... for the labels whose train split has at least this many positive and negative rows
    # (rater fractions summed); rarer labels are fitted unscaled: their ratios would be noise.
    ngram_nb_min_rows: int = 500
    # How that regression is fitted (toxic_mlops/model/wide.py, docs/distributed.md): liblinear,
    # the TF-IDF baseline's solver, which copies the rows it fits (~30 bytes a non-zero); lbfgs,
    # on the n-gram matrix as it is (8 bytes a non-zero, folds as masks); auto: liblinear up to
    # ngram_liblinear_max_rows training rows, lbfgs above.
    ngram_solver: str = "auto"
    ngram_liblinear_max_rows: int = 200_000
    lr_decay: float = 0.6
    max_len: int = 100
    seed: int = 42
    num_threads: int = 0
    # auto: CUDA when torch sees a GPU, else the CPU; or cpu, cuda, cuda:N.
    device: str = "auto"
    # Arithmetic of the training steps (toxic_mlops/model/device.py): auto is mixed precision on
    # CUDA (bf16 where the GPU has it, else fp16 with a gradient scaler) and fp32 on the CPU;
    # or fp32, fp16 (CUDA only), bf16. The weights stay fp32: the served model does not change.
    precision: str = "auto"
    # Identity-bias mitigation of the training rows (toxic_mlops/model/mitigation.py): none,
    # swap (counterfactual copies) or balance (identity-balanced repeats); terms from `bias`.
    bias_mitigation: str = "none"

    def wide_solver(self, rows: int) -> str:
        """The solver the wide path's regression takes on this many training rows."""
        if self.ngram_solver != "auto":
            return self.ngram_solver
        return "liblinear" if rows <= self.ngram_liblinear_max_rows else "lbfgs"

    def problems(self) -> list[str]:
        failed = broken(
            {
                "epochs >= 1": self.epochs >= 1,
                "batch_size >= 1": self.batch_size >= 1,
                "learning_rate > 0": self.learning_rate > 0,
                "0 < lr_decay <= 1": 0 < self.lr_decay <= 1,
                "max_len >= 1": self.max_len >= 1,
                "ngram_c >= 0": self.ngram_c >= 0,
                "ngram_folds 0 or >= 2": self.ngram_folds == 0 or self.ngram_folds >= 2,
                "ngram_nb_min_rows >= 1": self.ngram_nb_min_rows >= 1,
                "ngram_liblinear_max_rows >= 0": self.ngram_liblinear_max_rows >= 0,
            }
        )
        mitigation = f"training.bias_mitigation must be one of {BIAS_MITIGATIONS}"
        return [f"training: need {', '.join(failed)}; got {self}"] * bool(failed) + broken(
            {
                mitigation: self.bias_mitigation in BIAS_MITIGATIONS,
                "training.device must be auto, cpu, cuda or cuda:<index>": bool(
                    DEVICE_PATTERN.fullmatch(self.device)
                ),
                f"training.precision must be one of {PRECISIONS}": self.precision in PRECISIONS,
                f"training.ngram_solver must be one of {NGRAM_SOLVERS}": (
                    self.ngram_solver in NGRAM_SOLVERS
                ),
                "training.precision fp16 needs CUDA (training.device auto or cuda)": not (
                    self.precision == "fp16" and self.device == "cpu"
                ),
            }
        )


DEVICE_PATTERN = re.compile(r"auto|cpu|cuda(:\d+)?")
PRECISIONS = ("auto", "fp32", "fp16", "bf16")
NGRAM_SOLVERS = ("auto", "liblinear", "lbfgs")
DISTRIBUTED_BACKENDS = ("auto", "gloo", "nccl")


@dataclass(frozen=True)
class DistributedConfig:
    """Where the deep network trains (section `distributed`, docs/distributed.md).

    processes 0: in the train step's own process. N >= 1: N PyTorch DDP processes started by
    Spark's TorchDistributor as barrier tasks on `master`; the wide path is still fitted in the
    train step, which keeps the MLflow run and logs the model once.
    """

    processes: int = 0
    # spark.master: local[N], spark://host:7077, yarn, k8s://...; "" = SPARK_MASTER, else
    # local[processes].
    master: str = ""
    # The DDP backend: auto is nccl on CUDA and gloo on the CPU.
    backend: str = "auto"
    # The address executors reach this process (Spark's driver) at; this machine's address
    # for a remote cluster.
    driver_host: str = "127.0.0.1"
    # Zip toxic_mlops/ and pyfunc/ to the executors (sc.addPyFile) so that nothing of this
    # project needs installing there; false: they must import it themselves (PYTHONPATH).
    ship_code: bool = True
    # Time every gradient all-reduce (a synchronous DDP communication hook): the communication
    # share is logged, at the cost of overlapping it with the backward pass.
    time_communication: bool = True
    spark_conf: dict[str, str] = field(default_factory=dict)  # any other spark.* setting

    def problems(self) -> list[str]:
        return broken(
            {
                "distributed.processes must be >= 0 (0: no DDP)": self.processes >= 0,
                f"distributed.backend must be one of {DISTRIBUTED_BACKENDS}": (
                    self.backend in DISTRIBUTED_BACKENDS
                ),
            }
        )


# The word disguises training may copy rows with (toxic_mlops/model/obfuscation.py).
OBFUSCATION_FAMILIES = ("mask", "swap", "repeat", "delete", "split")


@dataclass(frozen=True)
class RobustnessConfig:
    """Reading disguised words (section `robustness`, docs/evasion.md): the lexicon of the
    training split's most toxic-looking words, read back from one-edit disguises at serving
    (respell) and disguised in copies of training rows (copies > 0)."""

    lexicon_size: int = 500  # the toxic-looking words (log-odds on the training split)
    respell: bool = False  # read back a word one edit from a lexicon word (pyfunc/respelling.py)
    misread_letters: int = 1  # letters of a word read back as look-alikes or masks: 1 or 2
    # The training split's commonest words, kept with the model: which of two words a masked
    # one may be is the more frequent (0: the sub-word vocabulary's merge order stands in).
    frequent_words: int = 20_000
    copies: float = 0.0  # share of the training rows copied with disguised words, in [0, 1]
    word_rate: float = 0.8  # a lexicon word is disguised at this rate in a copy,
    other_rate: float = 0.15  # every other word of 3+ letters at this one
    families: list[str] = field(default_factory=lambda: list(OBFUSCATION_FAMILIES))

    def problems(self) -> list[str]:
        return broken(
            {
                "robustness.copies, word_rate and other_rate must be in [0, 1]": all(
                    0 <= rate <= 1 for rate in (self.copies, self.word_rate, self.other_rate)
                ),
                "robustness.lexicon_size must be >= 1": self.lexicon_size >= 1,
                "robustness.frequent_words must be >= 0": self.frequent_words >= 0,
                "robustness.misread_letters must be 1 or 2": self.misread_letters in (1, 2),
                f"robustness.families must be a non-empty subset of {OBFUSCATION_FAMILIES}": bool(
                    self.families
                )
                and set(self.families) <= set(OBFUSCATION_FAMILIES),
            }
        )


@dataclass(frozen=True)
class ServingConfig:
    batch_size: int = 256
    max_rows: int = 10_000
    num_threads: int = 0
    quantize: bool = False
    max_chars: int = 0  # characters of a comment read before normalising; 0 = max_len x 32
    max_request_mb: int = 32  # the model server's own body limit (413 beyond), before parsing

    def problems(self) -> list[str]:
        return broken(
            {
                "serving.batch_size and serving.max_rows must be >= 1": (
                    self.batch_size >= 1 and self.max_rows >= 1
                ),
                "serving.max_chars must be >= 0 and serving.max_request_mb >= 1": (
                    self.max_chars >= 0 and self.max_request_mb >= 1
                ),
            }
        )


@dataclass(frozen=True)
class EvaluationConfig:
    """How the evaluate step puts a figure on the noise of its metrics (section `evaluation`)."""

    bootstrap_resamples: int = 1000  # resamples of the rows, for intervals and win probabilities
    bootstrap_seed: int = 42
    confidence: float = 0.95  # coverage of the percentile intervals
    min_positives: int = 20  # fewer positives in the test split: "too few positives to rank"
    # Evasion (evaluation/evasion.py): the toxic-looking words disguised, and at most this many
    # clean test comments to rank the disguised toxic ones against.
    evasion_lexicon_size: int = 200
    evasion_max_negatives: int = 2000

    def problems(self) -> list[str]:
        return broken(
            {
                "evaluation: need bootstrap_resamples >= 1, 0 < confidence < 1, "
                "min_positives >= 0": (
                    self.bootstrap_resamples >= 1
                    and 0 < self.confidence < 1
                    and self.min_positives >= 0
                ),
                "evaluation.evasion_lexicon_size and evasion_max_negatives must be >= 1": (
                    min(self.evasion_lexicon_size, self.evasion_max_negatives) >= 1
                ),
            }
        )


@dataclass(frozen=True)
class SpansConfig:
    """Toxic-span annotations (SemEval-2021 Task 5 format) and the span tagger trained on them.

    No sources: no tagger; served spans then come from the classifier's wide n-gram path.
    """

    sources: list[str] = field(default_factory=list)
    sha256: list[str] = field(default_factory=list)
    holdout_fraction: float = 0.2  # measured on, never trained on
    seed: int = 0
    hidden_size: int = 64
    epochs: int = 4
    batch_size: int = 32
    learning_rate: float = 0.002
    max_len: int = 256  # tokens a comment's spans are read from
    # Share of the training part kept aside to pick the epoch and the word threshold.
    threshold_fraction: float = 0.1

    @property
    def enabled(self) -> bool:
        return bool(self.sources)

    def problems(self) -> list[str]:
        return broken(
            {
                "spans.holdout_fraction and spans.threshold_fraction must be in (0, 1)": (
                    0 < self.holdout_fraction < 1 and 0 < self.threshold_fraction < 1
                ),
                "spans.hidden_size, epochs, batch_size and max_len must be >= 1": (
                    min(self.hidden_size, self.epochs, self.batch_size, self.max_len) >= 1
                ),
                "spans.sha256 must be empty or give one hash per source": (
                    not self.sha256 or len(self.sha256) == len(self.sources)
                ),
            }
        )


@dataclass(frozen=True)
class GatePolicy:
    """What a candidate must show to become Production (from the `registry` section)."""

    metric: str = "val_macro_roc_auc"
    # P(candidate better), paired bootstrap on the validation rows, against the baseline and
    # against Production: at least this to be promoted.
    min_win_probability: float = 0.9
    max_slowdown: float = 1.5  # Production comments/s divided by the candidate's, at most
    # The candidate's peak RSS (a fresh process loading it and scoring 1,000 comments) divided
    # by Production's, at most.
    max_memory_growth: float = 1.5
    require_beat_baseline: bool = True


@dataclass(frozen=True)
class RegistryConfig:
    model_name: str = "toxic"
    gate_metric: str = "val_macro_roc_auc"
    min_win_probability: float = 0.9
    max_slowdown: float = 1.5
    max_memory_growth: float = 1.5
    require_beat_baseline: bool = True

    @property
    def gate(self) -> GatePolicy:
        return GatePolicy(
            metric=self.gate_metric,
            min_win_probability=self.min_win_probability,
            max_slowdown=self.max_slowdown,
            max_memory_growth=self.max_memory_growth,
            require_beat_baseline=self.require_beat_baseline,
        )

    def production_uri(self, name: str = "") -> str:
        return f"models:/{name or self.model_name}/Production"

    def problems(self) -> list[str]:
        return broken(
            {
                "registry.min_win_probability must be in [0, 1]": (
                    0 <= self.min_win_probability <= 1
                ),
                # The win probabilities and Production's same-split score are on this metric.
                "registry.gate_metric must be val_macro_roc_auc": (
                    self.gate_metric == "val_macro_roc_auc"
                ),
                # A ratio of two peak RSS: 1 = no more than Production; below 1, less.
                "registry.max_memory_growth must be > 0": self.max_memory_growth > 0,
            }
        )


# Dixon et al. 2018 ("Measuring and Mitigating Unintended Bias in Text Classification") style:
# the adjectives a sentence uses to say who someone is. The YAML configs spell this list out;
# it is the default for configs that do not (section `bias`).
DEFAULT_IDENTITY_TERMS: dict[str, list[str]] = {
    "gender": ["male", "female", "nonbinary", "transgender", "trans"],
    "sexual_orientation": [
        "lesbian",
        "gay",
        "bisexual",
        "queer",
        "lgbt",
        "lgbtq",
        "homosexual",
        "heterosexual",
        "straight",
    ],
    "religion": [
        "christian",
        "muslim",
        "jewish",
        "buddhist",
        "catholic",
        "protestant",
        "sikh",
        "hindu",
        "taoist",
        "atheist",
    ],
    "race_ethnicity": [
        "black",
        "white",
        "african",
        "african american",
        "asian",
        "hispanic",
        "latino",
        "latina",
        "european",
        "middle eastern",
        "arab",
    ],
    "nationality": ["mexican", "canadian", "american", "chinese", "japanese", "indian"],
    "disability": ["blind", "deaf", "paralyzed", "disabled", "autistic"],
    "age": ["old", "older", "young", "younger", "teenage", "elderly", "millennial", "middle aged"],
}


BIAS_GATES = ("none", "baseline", "production")
BIAS_MITIGATIONS = ("none", "swap", "balance", "shuffle", "blind")


@dataclass(frozen=True)
class BiasConfig:
    """Identity bias without identity columns (section `bias`, docs/bias.md)."""

    identity_terms: dict[str, list[str]] = field(
        default_factory=lambda: {g: list(t) for g, t in DEFAULT_IDENTITY_TERMS.items()}
    )
    # A term joins the Jigsaw metric's power means with this many test mentions, and this many
    # positives and negatives among them; the others are reported, not scored.
    min_mentions: int = 10
    min_positives: int = 2
    # The gate may require no worse than the baseline (or also Production) on gate_metric.
    gate: str = "none"
    gate_metric: str = "probe_roc_auc"

    def problems(self) -> list[str]:
        return broken(
            {
                f"bias.gate must be one of {BIAS_GATES}": self.gate in BIAS_GATES,
                "bias.identity_terms must map each group to a list of terms (strings)": all(
                    isinstance(terms, list) and all(isinstance(t, str) and t.strip() for t in terms)
                    for terms in self.identity_terms.values()
                ),
                "bias.min_mentions and bias.min_positives must be >= 1": (
                    self.min_mentions >= 1 and self.min_positives >= 1
                ),
            }
        )


@dataclass(frozen=True)
class ValidationPolicy:
    """Thresholds above which a soft check warns (section `validation`)."""

    max_empty_share: float = 0.05
    max_duplicate_share: float = 0.10
    max_label_rate_change: float = 0.10  # absolute change of a label's positive rate
    max_length_psi: float = 0.25


@dataclass(frozen=True)
class MonitorPolicy:
    """Thresholds (section `monitor`); above one, the check flags drift."""

    max_token_js: float = 0.10  # Jensen-Shannon divergence of token frequencies (base 2)
    max_unseen_word_increase: float = 0.05  # share of words the training data never had
    max_length_psi: float = 0.25
    max_prediction_psi: float = 0.25  # per label, Production scores: batch vs its test split
    max_label_rate_change: float = 0.10
    max_auc_drop: float = 0.05  # below the logged test ROC-AUC: degraded
    min_positives: int = 10  # a label needs this many positives (and negatives) for an AUC
    sample_rows: int = 20_000  # reference rows used, at most (speed)


@dataclass(frozen=True)
class Dimension:
    """One searched setting: `name` is a train override key (hidden_size, training.max_len...)."""

    name: str
    type: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()


@dataclass(frozen=True)
class TuneSettings:
    n_trials: int = 20
    timeout_minutes: float = 120.0
    pruner_warmup_epochs: int = 1  # epochs a trial always gets before the median pruner may stop it
    pruner_startup_trials: int = 3  # trials that always finish: the median needs a history
    seed: int = 42
    search_space: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def dimensions(self) -> list[Dimension]:
        """The search space (checked when the config was built); empty when there is none."""
        return [
            Dimension(name, spec["type"], choices=tuple(spec["choices"]))
            if spec["type"] == "categorical"
            else Dimension(name, spec["type"], spec["low"], spec["high"], bool(spec.get("log")))
            for name, spec in self.search_space.items()
        ]


@dataclass(frozen=True)
class BatchConfig:
    """batch_score on Spark (docs/batch-and-proxy.md)."""

    master: str = "local[*]"  # SPARK_MASTER or -P master override it
    driver_host: str = "127.0.0.1"  # set to this machine's address for a remote cluster
    id_column: str = "id"  # copied to the output when the table has it, else a row_id is added
    partitions: int = 0  # 0 = one per concurrent task (more if the input has more)
    arrow_batch_rows: int = 10_000  # rows per Arrow batch handed to the model
    ui: bool = False  # the Spark web UI takes a port; off unless asked for
    spark_conf: dict[str, str] = field(default_factory=dict)  # any other spark.* setting


@dataclass(frozen=True)
class ProxyConfig:
    """nginx in front of the model server (make serve-public)."""

    bytes_per_comment: int = 2048  # body limit = serving.max_rows x this + 64 KiB
    rate_per_second: int = 20  # requests per client address, after the burst
    burst: int = 40
    timeout_seconds: int = 60  # client body, upstream send/read


@dataclass(frozen=True)
class Config:
    dataset: DatasetConfig
    sample: SampleConfig = SampleConfig()
    split: SplitConfig = SplitConfig()
    normalization: Normalizer = Normalizer()
    tokenizer: TokenizerConfig = TokenizerConfig()
    model: ModelConfig = ModelConfig()
    training: TrainingConfig = TrainingConfig()
    robustness: RobustnessConfig = RobustnessConfig()
    serving: ServingConfig = ServingConfig()
    spans: SpansConfig = SpansConfig()
    registry: RegistryConfig = RegistryConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    validation: ValidationPolicy = ValidationPolicy()
    monitor: MonitorPolicy = MonitorPolicy()
    tune: TuneSettings = TuneSettings()
    batch: BatchConfig = BatchConfig()
    distributed: DistributedConfig = DistributedConfig()
    proxy: ProxyConfig = ProxyConfig()
    bias: BiasConfig = BiasConfig()

    def params(self, sections: Iterable[str] = TUNABLE_SECTIONS) -> dict[str, Any]:
        """`section.key -> value` for logging the sections as MLflow params."""
        return {f"{s}.{k}": v for s in sections for k, v in asdict(getattr(self, s)).items()}


SECTIONS: dict[str, type] = typing.get_type_hints(Config)


def load_config(
    path: str | Path, overrides: Mapping[str, str] | None = None, sections=TUNABLE_SECTIONS
) -> Config:
    """The config file, with -P overrides of the given sections applied, checked as a whole."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    with path.open() as handle:
        raw = yaml.safe_load(handle)
    return build_config(raw, overrides, sections, source=str(path))


def build_config(
    raw: Any,
    overrides: Mapping[str, str] | None = None,
    sections: Iterable[str] = TUNABLE_SECTIONS,
    source: str = "config",
) -> Config:
    """A typed Config from parsed YAML and -P overrides; one ConfigError lists every problem."""
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of sections at the top level")
    values: dict[str, Any] = {}
    for name, section in raw.items():
        if name not in SECTIONS:
            problems.append(f"unknown section {name!r}")
        elif section is not None:
            values[name] = _typed_section(SECTIONS[name], section, name, problems)
    if "dataset" not in values and "dataset" not in raw:
        problems.append("section 'dataset' is missing")
    config = None
    if not problems:
        config = Config(**values)
        config = _override(config, overrides or {}, list(sections), problems)
        problems += config_problems(config)
    if problems:
        raise _error(source, problems)
    return config


def override(
    config: Config, overrides: Mapping[str, str], sections: Iterable[str] = TUNABLE_SECTIONS
) -> Config:
    """config with `name=value` overrides (as -P gives them) applied and checked again."""
    problems: list[str] = []
    result = _override(config, overrides, list(sections), problems)
    problems += [] if problems else config_problems(result)
    if problems:
        raise _error("override", problems)
    return result


def _error(source: str, problems: list[str]) -> ConfigError:
    if len(problems) == 1:
        return ConfigError(f"{source}: {problems[0]}")
    return ConfigError(f"{source}: {len(problems)} problems: " + "; ".join(problems))


def _typed_section(cls: type, values: Any, section: str, problems: list[str]) -> Any:
    """A section's dataclass; unknown keys, missing required keys and wrong types are problems."""
    if not isinstance(values, dict):
        problems.append(f"section {section!r}: expected a mapping, got {values!r}")
        return None
    hints = typing.get_type_hints(cls)
    unknown = set(values) - set(hints)
    if unknown:
        problems.append(f"section {section!r}: unknown keys {sorted(unknown)}")
    known = {key: value for key, value in values.items() if key in hints}
    required = [f.name for f in fields(cls) if _is_required(f)]
    if missing := [key for key in required if key not in known]:
        problems.append(f"section {section!r}: missing keys {missing}")
        return None
    for key, value in known.items():
        if not _has_type(value, hints[key]):
            problems.append(f"{section}.{key}: expected {_type_name(hints[key])}, got {value!r}")
    return cls(**known)


def _is_required(item: Any) -> bool:
    return item.default is MISSING and item.default_factory is MISSING


def _has_type(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_has_type(value, option) for option in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is Any:
        return True
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is not None:
        return isinstance(value, origin)
    return isinstance(value, hint)


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint)


def _cast(raw: str, hint: Any, key: str) -> Any:
    """A command-line string as the field's type."""
    options = [h for h in typing.get_args(hint) if h is not type(None)] or [hint]
    target = typing.get_origin(options[0]) or options[0]
    if target is bool:
        return parse_bool(raw, key)
    if target is list:
        return [item.strip() for item in raw.split(",") if item.strip()]
    try:
        return target(raw) if target in (int, float) else raw
    except ValueError as error:
        raise ConfigError(f"{key}: expected {target.__name__}, got {raw!r}") from error


def _override(
    config: Config, overrides: Mapping[str, str], allowed: list[str], problems: list[str]
) -> Config:
    """`name` (unambiguous within the allowed sections) or `section.name` keys; new Config."""
    changes: dict[str, dict[str, Any]] = {}
    field_names = {s: set(typing.get_type_hints(SECTIONS[s])) for s in allowed}
    for key, raw in overrides.items():
        section, dot, name = key.rpartition(".")
        candidates = [section] if dot else allowed
        candidates = [s for s in candidates if name in field_names.get(s, ())]
        if not candidates:
            known = ", ".join(sorted(f"{s}.{n}" for s in allowed for n in field_names[s]))
            problems.append(f"unknown parameter {key!r}; known: {known}")
        elif len(candidates) > 1:
            options = ", ".join(f"{s}.{name}" for s in candidates)
            problems.append(f"parameter {key!r} is ambiguous; use one of {options}")
        else:
            hint = typing.get_type_hints(SECTIONS[candidates[0]])[name]
            try:
                changes.setdefault(candidates[0], {})[name] = _cast(str(raw), hint, key)
            except ConfigError as error:
                problems.append(str(error))
    return replace(config, **{s: replace(getattr(config, s), **c) for s, c in changes.items()})


def config_problems(config: Config) -> list[str]:
    """Every rule a built config breaks: each section's own, then the rules across sections."""
    problems = [
        problem
        for name in SECTIONS
        if hasattr(section := getattr(config, name), "problems")
        for problem in section.problems()
    ]
    model, training = config.model, config.training
    problems += broken(
        {
            "training.ngram_c > 0 needs model.ngram_buckets > 0 and model.ngram_weighting: tfidf": (
                training.ngram_c <= 0
                or (model.ngram_buckets > 0 and model.ngram_weighting == "tfidf")
            ),
            "distributed.backend nccl needs CUDA (training.device auto or cuda)": not (
                config.distributed.backend == "nccl" and training.device == "cpu"
            ),
        }
    )
    return problems + search_space_problems(config)


def search_space_problems(config: Config) -> list[str]:
    """tune.search_space: known kinds, bounds or choices, and keys that are train settings."""
    problems = []
    for name, spec in config.tune.search_space.items():
        where = f"tune.search_space.{name}"
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind not in SEARCH_KINDS:
            problems.append(f"{where}: type must be one of {SEARCH_KINDS}, got {kind}")
            continue
        if kind == "categorical" and not spec.get("choices"):
            problems.append(f"{where}: categorical needs choices")
            continue
        if kind != "categorical" and (spec.get("low") is None or spec.get("high") is None):
            problems.append(f"{where}: {kind} needs low and high")
            continue
        example = spec["choices"][0] if kind == "categorical" else spec["low"]
        # Fails now, not after an hour of trials, if the key is not a train setting.
        _override(config, {name: str(example)}, list(TUNABLE_SECTIONS), problems)
    return problems

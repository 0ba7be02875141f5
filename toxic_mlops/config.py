"""YAML configuration: load, override from the command line, and typed views of its sections."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from toxic_mlops.errors import PipelineError
from toxic_mlops.registry import GatePolicy


class ConfigError(PipelineError, ValueError):
    """A configuration file or override that cannot be used; the message says which key."""


def load_config(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    with path.open() as handle:
        config = yaml.safe_load(handle)
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    return config


def _cast_like(template: Any, raw: str, key: str) -> Any:
    """Parse a command-line string into the type of the value it replaces."""
    if isinstance(template, bool):
        lowered = raw.strip().lower()
        if lowered in {"true", "1", "yes"}:
            return True
        if lowered in {"false", "0", "no"}:
            return False
        raise ConfigError(f"{key}: expected true or false, got {raw!r}")
    try:
        if isinstance(template, int):
            return int(raw)
        if isinstance(template, float):
            return float(raw)
    except ValueError as error:
        raise ConfigError(f"{key}: expected {type(template).__name__}, got {raw!r}") from error
    if isinstance(template, list):
        return [item.strip() for item in raw.split(",") if item.strip()]
    return raw


def apply_overrides(
    config: Mapping[str, Any], overrides: Mapping[str, str], sections: Iterable[str]
) -> dict[str, Any]:
    """A copy of config with `key=value` overrides applied to the named sections.

    A key is `name` (looked up in the allowed sections, must be unambiguous) or `section.name`.
    Values are strings, as MLflow passes them, and are parsed to the type of the current value.
    """
    result = copy.deepcopy(dict(config))
    allowed = list(sections)
    for key, raw in overrides.items():
        if "." in key:
            section, name = key.split(".", 1)
            candidates = [section] if section in allowed else []
        else:
            name = key
            candidates = [s for s in allowed if name in result.get(s, {})]
        candidates = [s for s in candidates if name in result.get(s, {})]
        if not candidates:
            known = sorted(f"{s}.{n}" for s in allowed for n in result.get(s, {}))
            raise ConfigError(f"unknown parameter {key!r}; known: {', '.join(known)}")
        if len(candidates) > 1:
            options = ", ".join(f"{s}.{name}" for s in candidates)
            raise ConfigError(f"parameter {key!r} is ambiguous; use one of {options}")
        section = candidates[0]
        result[section][name] = _cast_like(result[section][name], str(raw), key)
    return result


def flatten(config: Mapping[str, Any], sections: Iterable[str]) -> dict[str, Any]:
    """`section.key -> value` for logging the sections as MLflow params."""
    return {f"{s}.{k}": v for s in sections for k, v in config.get(s, {}).items()}


def typed_section(cls: type, values: Mapping[str, Any] | None, section: str) -> Any:
    """A dataclass from a config section; unknown keys are an error, missing ones default."""
    known = {f.name for f in fields(cls)}
    unknown = set(values or {}) - known
    if unknown:
        raise ConfigError(f"section {section!r}: unknown keys {sorted(unknown)}")
    return cls(**(values or {}))


@dataclass(frozen=True)
class DatasetConfig:
    """Where the data comes from and what its columns mean."""

    name: str
    text_column: str
    label_columns: list[str]
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


@dataclass(frozen=True)
class SplitConfig:
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    seed: int = 42


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
    lr_decay: float = 0.6
    max_len: int = 100
    seed: int = 42
    num_threads: int = 0
    device: str = "auto"


def dataset_config(config: Mapping[str, Any]) -> DatasetConfig:
    dataset = typed_section(DatasetConfig, config.get("dataset"), "dataset")
    if not dataset.label_columns:
        raise ConfigError("dataset.label_columns must name at least one label")
    return dataset


def split_config(config: Mapping[str, Any]) -> SplitConfig:
    split = typed_section(SplitConfig, config.get("split"), "split")
    if split.val_fraction <= 0 or split.test_fraction <= 0:
        raise ConfigError("split.val_fraction and split.test_fraction must be > 0")
    if split.val_fraction + split.test_fraction >= 1:
        raise ConfigError("split.val_fraction + split.test_fraction must be < 1")
    return split


def training_config(config: Mapping[str, Any]) -> TrainingConfig:
    training = typed_section(TrainingConfig, config.get("training"), "training")
    checks = {
        "epochs >= 1": training.epochs >= 1,
        "batch_size >= 1": training.batch_size >= 1,
        "learning_rate > 0": training.learning_rate > 0,
        "0 < lr_decay <= 1": 0 < training.lr_decay <= 1,
        "max_len >= 1": training.max_len >= 1,
        "ngram_c >= 0": training.ngram_c >= 0,
    }
    if failed := [rule for rule, ok in checks.items() if not ok]:
        raise ConfigError(f"training: need {', '.join(failed)}; got {training}")
    return training


def gate_policy(config: Mapping[str, Any]) -> GatePolicy:
    registry = dict(config.get("registry", {}))
    registry.pop("model_name", None)
    registry["metric"] = registry.pop("gate_metric", "val_macro_roc_auc")
    return typed_section(GatePolicy, registry, "registry")

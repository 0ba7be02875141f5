"""Hyper-parameter search space (from the config) and the tuned values handed on to train."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from toxic_mlops.config import ConfigError, apply_overrides, typed_section
from toxic_mlops.tracking import download_run_artifacts

BEST_PARAMS_ARTIFACT = "tune/best_params.json"
KINDS = ("int", "float", "categorical")


@dataclass(frozen=True)
class Dimension:
    """One searched setting: `name` is a train override key (hidden_size, training.max_len...)."""

    name: str
    type: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: optuna.Trial) -> Any:
        if self.type == "categorical":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.type == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, float(self.low), float(self.high), log=self.log)


@dataclass(frozen=True)
class TuneSettings:
    n_trials: int = 20
    timeout_minutes: float = 120.0
    pruner_warmup_epochs: int = 1  # epochs a trial always gets before the median pruner may stop it
    pruner_startup_trials: int = 3  # trials that always finish: the median needs a history
    seed: int = 42
    search_space: Mapping[str, Mapping[str, Any]] | None = None


def tune_settings(config: Mapping[str, Any]) -> TuneSettings:
    return typed_section(TuneSettings, config.get("tune"), "tune")


def search_space(
    config: Mapping[str, Any], settings: TuneSettings, sections: tuple[str, ...]
) -> list[Dimension]:
    """The config's tune.search_space, checked: known kinds, bounds or choices, real keys."""
    if not settings.search_space:
        raise ConfigError("the config has no tune.search_space to search")
    dimensions = []
    for name, spec in settings.search_space.items():
        kind = spec.get("type")
        if kind not in KINDS:
            raise ConfigError(f"tune.search_space.{name}: type must be one of {KINDS}, got {kind}")
        if kind == "categorical":
            if not spec.get("choices"):
                raise ConfigError(f"tune.search_space.{name}: categorical needs choices")
            dimension = Dimension(name, kind, choices=tuple(spec["choices"]))
            examples = [dimension.choices[0]]
        else:
            if spec.get("low") is None or spec.get("high") is None:
                raise ConfigError(f"tune.search_space.{name}: {kind} needs low and high")
            dimension = Dimension(name, kind, spec["low"], spec["high"], bool(spec.get("log")))
            examples = [spec["low"]]
        # Fails now, not after an hour of trials, if the key is not a train setting.
        apply_overrides(config, {name: str(examples[0])}, sections)
        dimensions.append(dimension)
    return dimensions


def load_best_params(run_id: str) -> dict[str, str]:
    """The tuned settings a tune run logged, as train overrides (strings, like -P values)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = download_run_artifacts(run_id, BEST_PARAMS_ARTIFACT, Path(tmp))
        return {key: str(value) for key, value in json.loads(path.read_text()).items()}

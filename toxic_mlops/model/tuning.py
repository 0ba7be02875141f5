"""Hyper-parameter search space (from the config) and the tuned values handed on to train."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import optuna

from toxic_mlops.config import Config, ConfigError, Dimension
from toxic_mlops.mlflow_io.runs import download_run_artifacts

BEST_PARAMS_ARTIFACT = "tune/best_params.json"


def suggest(dimension: Dimension, trial: optuna.Trial) -> Any:
    if dimension.type == "categorical":
        return trial.suggest_categorical(dimension.name, list(dimension.choices))
    low, high = dimension.low, dimension.high
    if dimension.type == "int":
        return trial.suggest_int(dimension.name, int(low), int(high), log=dimension.log)
    return trial.suggest_float(dimension.name, float(low), float(high), log=dimension.log)


def search_space(config: Config) -> list[Dimension]:
    """The config's tune.search_space (checked when the config was built); it must not be empty."""
    if not config.tune.search_space:
        raise ConfigError("the config has no tune.search_space to search")
    return config.tune.dimensions


def load_best_params(run_id: str) -> dict[str, str]:
    """The tuned settings a tune run logged, as train overrides (strings, like -P values)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = download_run_artifacts(run_id, BEST_PARAMS_ARTIFACT, Path(tmp))
        return {key: str(value) for key, value in json.loads(path.read_text()).items()}

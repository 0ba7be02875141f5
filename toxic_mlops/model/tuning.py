"""Hyper-parameter search: the config's search space, the Optuna objective and the study."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import optuna
import pandas as pd

from toxic_mlops.config import Config, ConfigError, Dimension, override
from toxic_mlops.errors import PipelineError
from toxic_mlops.model.training import EpochResult, fit


class TrialLog(Protocol):
    """Where a trial reports (the MLflow edge: a nested run)."""

    def epoch(self, result: EpochResult) -> None: ...

    def finish(self, score: float | None) -> None:
        """The trial's best validation macro ROC-AUC; None when it was pruned."""


TrialRun = Callable[[int, dict[str, Any]], AbstractContextManager[TrialLog]]


@dataclass(frozen=True)
class TuneResult:
    study: optuna.Study
    complete: int
    pruned: int


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


def objective(
    config: Config,
    splits: Mapping[str, pd.DataFrame],
    tokenizer_file: Path,
    trial_run: TrialRun,
) -> Callable[[optuna.Trial], float]:
    """Trains the config with a trial's suggested settings; the median pruner sees each epoch."""
    dimensions = search_space(config)

    def run_trial(trial: optuna.Trial) -> float:
        params = {d.name: suggest(d, trial) for d in dimensions}
        trial_config = override(config, {k: str(v) for k, v in params.items()})
        score = None
        with trial_run(trial.number, params) as log:

            def report(result: EpochResult) -> None:
                log.epoch(result)
                trial.report(result.val_macro_roc_auc, result.epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned()

            try:
                score = fit(
                    trial_config, splits, tokenizer_file, report
                ).result.best.val_macro_roc_auc
            except optuna.TrialPruned:
                pass
            log.finish(score)
        if score is None:  # raised outside the trial's log, so it ends as a finished record
            raise optuna.TrialPruned()
        return score

    return run_trial


def run_study(
    config: Config,
    trial_objective: Callable[[optuna.Trial], float],
    n_trials: int,
    timeout_seconds: float,
) -> TuneResult:
    """TPE sampler, median pruner, bounded by n_trials and a wall-clock timeout."""
    settings = config.tune
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # each trial reports itself
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=settings.seed),
        pruner=optuna.pruners.MedianPruner(
            n_startup_trials=settings.pruner_startup_trials,
            n_warmup_steps=settings.pruner_warmup_epochs,
        ),
    )
    study.optimize(trial_objective, n_trials=n_trials, timeout=timeout_seconds)
    states = [t.state for t in study.trials]
    complete = states.count(optuna.trial.TrialState.COMPLETE)
    if not complete:
        raise PipelineError(f"no trial completed ({len(study.trials)} started)")
    return TuneResult(study, complete, states.count(optuna.trial.TrialState.PRUNED))

"""tune: Optuna search over the config's tune.search_space, one nested MLflow run per trial.

TPE sampler, median pruner on each epoch's validation macro ROC-AUC, bounded by n_trials and a
wall-clock timeout (a running trial finishes). The best params go to tune/best_params.json and
`best.*` params on this run; `mlflow run . -e train --env-manager local -P params_from=<this run
id>` trains with them on the same preprocess run (tagged here) and config.
"""

from __future__ import annotations

import json
import shlex
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import mlflow
from mlflow.tracking import MlflowClient

from toxic_mlops.cli import (
    ACCEPT_EXTRA_OPTIONS,
    extra_options,
    recorded_config_option,
    user_errors,
)
from toxic_mlops.config import TUNABLE_SECTIONS, ConfigError, load_config
from toxic_mlops.contract import (
    BEST_PARAMS_ARTIFACT,
    ENTRY_POINT_TAG,
    PREPROCESS_RUN_TAG,
    TRIALS_ARTIFACT,
    TUNE_HISTORY_ARTIFACT,
    TUNE_STATE_TAG,
    TUNE_TRIAL_ENTRY_POINT,
    TUNE_TRIAL_TAG,
)
from toxic_mlops.mlflow_io.configs import training_input
from toxic_mlops.mlflow_io.inputs import preprocessed_inputs
from toxic_mlops.mlflow_io.logs import log_epoch, log_figures, say
from toxic_mlops.mlflow_io.runs import get_run, step_run
from toxic_mlops.model.training import EpochResult
from toxic_mlops.model.tuning import TuneResult, objective, run_study
from toxic_mlops.plots import tuning_history


class _TrialRecord:
    """One Optuna trial as a nested MLflow run (its own entry point, so train never picks it)."""

    def epoch(self, result: EpochResult) -> None:
        log_epoch(result)

    def finish(self, score: float | None) -> None:
        if score is None:
            mlflow.set_tag(TUNE_STATE_TAG, "pruned")
            return
        mlflow.log_metric("val_macro_roc_auc", score)
        mlflow.set_tag(TUNE_STATE_TAG, "complete")


@contextmanager
def _trial_run(number: int, params: dict[str, Any]) -> Iterator[_TrialRecord]:
    with mlflow.start_run(nested=True, run_name=f"trial-{number}"):
        mlflow.set_tags({ENTRY_POINT_TAG: TUNE_TRIAL_ENTRY_POINT, TUNE_TRIAL_TAG: number})
        mlflow.log_params(params)
        say(f"tune: trial {number} {params}")
        yield _TrialRecord()


def tune_step(
    config_path: str,
    overrides: Mapping[str, str],
    preprocess_run: str,
    data_dir: str,
    n_trials: int | None,
    timeout_minutes: float | None,
) -> tuple[TuneResult, str]:
    """Optuna search, one nested run per trial; (result, this run's id) for train's params_from.

    No config_path: the one the data was preprocessed with (configs.training_input)."""
    with step_run("tune") as run, tempfile.TemporaryDirectory() as tmp:
        preprocess_run, config_path = training_input(
            run, "tune", config_path, preprocess_run, data_dir
        )
        config = load_config(config_path, overrides)
        if not config.tune.search_space:
            raise ConfigError(
                f"{config_path} has no tune.search_space to search: add one (configs/sample.yaml "
                "and configs/toxic.yaml have one) or pass -P config=<a config with one>"
            )
        trials = n_trials or config.tune.n_trials
        timeout = 60 * (timeout_minutes or config.tune.timeout_minutes)
        # train -P params_from=<this run> reads the same data.
        mlflow.set_tag(PREPROCESS_RUN_TAG, preprocess_run)
        splits, tokenizer_file = preprocessed_inputs(preprocess_run, data_dir, Path(tmp))
        # What every trial starts from, and the budget (named apart from the `mlflow run` params).
        mlflow.log_params(config.params(TUNABLE_SECTIONS))
        mlflow.log_params({"tune.n_trials": trials, "tune.timeout_minutes": timeout / 60})
        trial_objective = objective(config, splits, tokenizer_file, _trial_run)
        result = run_study(config, trial_objective, trials, timeout)
        _log_study(result)
    return result, run.info.run_id


def train_command(tune_run: str) -> str:
    """The command that trains with a tune run's best params, on the data it searched on."""
    experiment = MlflowClient().get_experiment(get_run(tune_run).info.experiment_id).name
    return (
        f"mlflow run . -e train --env-manager local --experiment-name {shlex.quote(experiment)} "
        f"-P params_from={tune_run}"
    )


def _log_study(result: TuneResult) -> None:
    study = result.study
    mlflow.log_dict(study.best_params, BEST_PARAMS_ARTIFACT)
    mlflow.log_params({f"best.{k}": v for k, v in study.best_params.items()})
    mlflow.log_metrics(
        {
            "best_val_macro_roc_auc": study.best_value,
            "trials_complete": result.complete,
            "trials_pruned": result.pruned,
        }
    )
    mlflow.log_text(study.trials_dataframe().to_csv(index=False), TRIALS_ARTIFACT)
    log_figures({TUNE_HISTORY_ARTIFACT: tuning_history(study.trials)})


@click.command(context_settings=ACCEPT_EXTRA_OPTIONS)
@recorded_config_option
@click.option("--preprocess-run", default="", help="Run id of a finished preprocess step.")
@click.option("--data-dir", default="", help="Or a folder with the splits + tokenizer.json.")
@click.option("--n-trials", default="", help="Empty = the config's tune.n_trials.")
@click.option("--timeout-minutes", default="", help="Empty = the config's tune.timeout_minutes.")
@click.pass_context
@user_errors
def main(
    ctx: click.Context,
    config_path: str,
    preprocess_run: str,
    data_dir: str,
    n_trials: str,
    timeout_minutes: str,
) -> None:
    """Extra -P settings (epochs=2 ...) are fixed for every trial."""
    result, run_id = tune_step(
        config_path,
        extra_options(ctx.args),
        preprocess_run,
        data_dir,
        int(n_trials) if n_trials else None,
        float(timeout_minutes) if timeout_minutes else None,
    )
    click.echo(
        f"tune: {result.complete} complete, {result.pruned} pruned; best val macro ROC-AUC "
        f"{result.study.best_value:.4f} with {json.dumps(result.study.best_params)}\n"
        f"tune: train with it: {train_command(run_id)}"
    )


if __name__ == "__main__":
    main()

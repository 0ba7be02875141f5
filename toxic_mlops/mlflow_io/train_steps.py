"""The train and tune steps as MLflow runs: splits fetched, model and trials logged."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import mlflow
from mlflow.entities import Run

from toxic_mlops.config import TUNABLE_SECTIONS, Config, ConfigError, load_config
from toxic_mlops.contract import (
    BEST_PARAMS_ARTIFACT,
    ENTRY_POINT_TAG,
    LOSS_CURVE_ARTIFACT,
    MODEL_URI_TAG,
    NB_SCALED_LABELS_PARAM,
    PARAMS_FROM_TAG,
    PREPROCESS_RUN_TAG,
    SPANS_REPORT_ARTIFACT,
    THRESHOLDS_ARTIFACT,
    TRAIN_ROC_PR_ARTIFACT,
    TRIALS_ARTIFACT,
    TUNE_HISTORY_ARTIFACT,
    TUNE_STATE_TAG,
    TUNE_TRIAL_ENTRY_POINT,
    TUNE_TRIAL_TAG,
)
from toxic_mlops.data.download import default_cache_dir
from toxic_mlops.mlflow_io.inputs import (
    load_best_params,
    preprocessed_embeddings,
    preprocessed_inputs,
)
from toxic_mlops.mlflow_io.logs import log_epoch, log_figures, say
from toxic_mlops.mlflow_io.packaging import log_pyfunc_model, save_model_files
from toxic_mlops.mlflow_io.runs import latest_finished_run, step_run
from toxic_mlops.model.assessment import TrainedModel, assess
from toxic_mlops.model.span_training import with_spans
from toxic_mlops.model.training import EpochResult, fit
from toxic_mlops.model.tuning import TuneResult, objective, run_study
from toxic_mlops.plots import loss_curve, roc_pr_curves, tuning_history

INPUT_EXAMPLE = ["Thanks, that was really helpful.", "You are a total idiot."]


@dataclass(frozen=True)
class LoggedModel:
    trained: TrainedModel
    model_uri: str


def _splits_for(run: Run, entry_point: str, config_path: str, preprocess_run: str) -> str:
    """The preprocess run to read: the one given, else the newest for this config."""
    if preprocess_run:
        return preprocess_run
    found = latest_finished_run(run.info.experiment_id, "preprocess", config_path)
    say(f"{entry_point}: using the latest preprocess run {found}")
    return found


def train_step(
    config_path: str,
    overrides: Mapping[str, str],
    preprocess_run: str,
    data_dir: str,
    params_from: str,
) -> LoggedModel:
    """Fit the config's network (tuned params first, explicit -P settings win), log the model."""
    if preprocess_run and data_dir:
        raise ConfigError("give one of -P preprocess_run=<run id> or -P data_dir=<path>, not both")
    tuned = load_best_params(params_from) if params_from else {}
    config = load_config(config_path, {**tuned, **overrides})
    with step_run("train") as run, tempfile.TemporaryDirectory() as tmp:
        if not data_dir:
            preprocess_run = _splits_for(run, "train", config_path, preprocess_run)
        splits, tokenizer_file = preprocessed_inputs(preprocess_run, data_dir, Path(tmp))
        embeddings = preprocessed_embeddings(
            preprocess_run, data_dir, config.model.pretrained_embeddings, Path(tmp)
        )
        mlflow.log_params(config.params(TUNABLE_SECTIONS))
        fitted = fit(config, splits, tokenizer_file, log_epoch, embeddings)
        trained, spans = with_spans(assess(fitted, config), config, default_cache_dir())
        if spans is not None:
            say(f"train: {spans.summary()}")
            mlflow.log_params(config.params(["spans"]))
            mlflow.log_metrics(spans.metrics())
            mlflow.log_dict(asdict(spans), SPANS_REPORT_ARTIFACT)
        model_uri = _log_trained(trained, config, tokenizer_file, Path(tmp))
        mlflow.set_tags(
            {
                MODEL_URI_TAG: model_uri,
                PREPROCESS_RUN_TAG: preprocess_run,
                PARAMS_FROM_TAG: params_from,
            }
        )
    return LoggedModel(trained, model_uri)


def _log_trained(trained: TrainedModel, config: Config, tokenizer_file: Path, work: Path) -> str:
    labels, threshold = config.dataset.label_columns, config.dataset.positive_threshold
    result = trained.fitted.result
    mlflow.log_metrics(trained.metrics)
    mlflow.log_param(NB_SCALED_LABELS_PARAM, ",".join(result.nb_scaled_labels))
    mlflow.log_dict(trained.spec.thresholds, THRESHOLDS_ARTIFACT)
    test_targets = trained.fitted.encoded["test"].targets
    log_figures(
        {
            LOSS_CURVE_ARTIFACT: loss_curve(result.history),
            TRAIN_ROC_PR_ARTIFACT: roc_pr_curves(
                test_targets, {"model": trained.probabilities["test"]}, labels, threshold
            ),
        }
    )
    files = save_model_files(result.network, tokenizer_file, trained.spec, work / "model_files")
    return log_pyfunc_model(files, labels, INPUT_EXAMPLE).model_uri


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
    """Optuna search, one nested run per trial; (result, this run's id) for train's params_from."""
    config = load_config(config_path, overrides)
    trials = n_trials or config.tune.n_trials
    timeout = 60 * (timeout_minutes or config.tune.timeout_minutes)
    with step_run("tune") as run, tempfile.TemporaryDirectory() as tmp:
        if not data_dir:
            preprocess_run = _splits_for(run, "tune", config_path, preprocess_run)
        splits, tokenizer_file = preprocessed_inputs(preprocess_run, data_dir, Path(tmp))
        # What every trial starts from, and the budget (named apart from the `mlflow run` params).
        mlflow.log_params(config.params(TUNABLE_SECTIONS))
        mlflow.log_params({"tune.n_trials": trials, "tune.timeout_minutes": timeout / 60})
        trial_objective = objective(config, splits, tokenizer_file, _trial_run)
        result = run_study(config, trial_objective, trials, timeout)
        _log_study(result)
    return result, run.info.run_id


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


def best_params_text(result: TuneResult) -> str:
    return json.dumps(result.study.best_params)

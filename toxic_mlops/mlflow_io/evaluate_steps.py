"""The evaluate and register steps as MLflow runs: a train run scored, then gated and registered."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow.entities.model_registry import ModelVersion
from mlflow.tracking import MlflowClient

from toxic_mlops.config import Config, ConfigError
from toxic_mlops.contract import (
    BASELINE_METRIC_PREFIX,
    COMMENTS_PER_S_METRIC,
    MODEL_CARD_ARTIFACT,
    MODEL_URI_TAG,
    PREPROCESS_RUN_TAG,
    PRODUCTION_METRIC_PREFIX,
    PRODUCTION_SCORED_TAG,
    REGISTRY_TAG_PREFIX,
    SPANS_REPORT_ARTIFACT,
    SPLITS_ARTIFACT,
    TRAIN_RUN_TAG,
    VAL_MACRO_AUC_METRIC,
)
from toxic_mlops.data.dataset import load_splits
from toxic_mlops.evaluation.evaluate import Evaluation, card, evaluate, figures, val_macro_auc
from toxic_mlops.evaluation.gate import Decision, Figures
from toxic_mlops.mlflow_io.inputs import pyfunc_predictor
from toxic_mlops.mlflow_io.logs import log_figures, say
from toxic_mlops.mlflow_io.registry import current_production, register_and_gate
from toxic_mlops.mlflow_io.runs import (
    download_run_artifacts,
    get_run,
    latest_finished_run,
    newest_finished_run,
    step_run,
)


def _train_run_tags(train_run: str) -> dict[str, str]:
    tags = get_run(train_run).data.tags
    if MODEL_URI_TAG not in tags:
        raise ConfigError(f"run {train_run} is not a finished train run with a logged model")
    return tags


def evaluate_step(config: Config, config_path: str, train_run: str, data_dir: str) -> Evaluation:
    """Score a train run's model (default: the newest) and the baseline; Production too."""
    with step_run("evaluate") as run, tempfile.TemporaryDirectory() as tmp:
        if not train_run:
            train_run = latest_finished_run(run.info.experiment_id, "train", config_path)
            say(f"evaluate: using the latest train run {train_run}")
        tags = _train_run_tags(train_run)
        preprocess_run = tags.get(PREPROCESS_RUN_TAG, "")
        if data_dir:
            data = Path(data_dir)
        elif preprocess_run:
            data = download_run_artifacts(preprocess_run, SPLITS_ARTIFACT, Path(tmp))
        else:
            raise ConfigError(f"train run {train_run} was trained from a folder: pass -P data_dir=")
        splits = load_splits(data)
        mlflow.set_tag(TRAIN_RUN_TAG, train_run)
        result = evaluate(splits, pyfunc_predictor(tags[MODEL_URI_TAG]), config)
        mlflow.log_metrics(result.metrics)
        _score_production(config, splits, train_run)
        for path, table in result.bias_tables.items():
            mlflow.log_table(table, path)
        log_figures(figures(result, config.dataset))
        spans = _span_report(train_run)
        mlflow.log_text(card(result, splits, config.dataset, spans), MODEL_CARD_ARTIFACT)
    return result


def _span_report(train_run: str) -> dict | None:
    """The train run's toxic-span figures, when it was trained with span data."""
    if not any(
        f.path == SPANS_REPORT_ARTIFACT for f in MlflowClient().list_artifacts(train_run, "spans")
    ):
        return None
    return mlflow.artifacts.load_dict(f"runs:/{train_run}/{SPANS_REPORT_ARTIFACT}")


def _score_production(config: Config, splits: dict, train_run: str) -> None:
    """The gate compares with Production on this very split, not on the one it was tested on."""
    production = current_production(MlflowClient(), config.registry.model_name)
    if production is None or production.run_id == train_run:
        return
    scored = f"{production.name}/{production.version}"
    predict = pyfunc_predictor(f"models:/{scored}")
    mlflow.log_metric(
        PRODUCTION_METRIC_PREFIX + VAL_MACRO_AUC_METRIC,
        val_macro_auc(predict, splits, config.dataset),
    )
    mlflow.set_tag(PRODUCTION_SCORED_TAG, scored)


@dataclass(frozen=True)
class Registered:
    name: str
    version: ModelVersion
    decision: Decision

    def summary(self) -> str:
        outcome = "promoted to Production" if self.decision.promote else "registered, NOT promoted"
        return f"{self.name} version {self.version.version} {outcome}: {self.decision.reason}"


def _model_and_train_run(
    experiment_id: str, config_path: str, train_run: str, model_uri: str
) -> tuple[str, str]:
    if model_uri:
        return mlflow.models.get_model_info(model_uri).run_id, model_uri
    if not train_run:
        train_run = latest_finished_run(experiment_id, "train", config_path)
        say(f"register: using the latest train run {train_run}")
    return train_run, _train_run_tags(train_run)[MODEL_URI_TAG]


def _evaluate_run_of(experiment_id: str, train_run: str) -> str:
    found = newest_finished_run(
        experiment_id, "evaluate", f"tags.`{TRAIN_RUN_TAG}` = '{train_run}'"
    )
    if found is None:
        raise ConfigError(
            f"train run {train_run} has no finished evaluate run: the gate needs its "
            f"figures. Run `mlflow run . -e evaluate -P train_run={train_run}` first."
        )
    return found.info.run_id


def register_step(
    config: Config,
    config_path: str,
    train_run: str,
    model_uri: str,
    evaluate_run: str,
    name: str,
) -> Registered:
    """Register a model (default: the newest train run's); promote it only if the gate passes."""
    if train_run and model_uri:
        raise ConfigError("give one of -P train_run=<run id> or -P model_uri=<uri>, not both")
    name = name or config.registry.model_name
    policy = config.registry.gate
    with step_run("register") as this_run:
        experiment = this_run.info.experiment_id
        train_run, model_uri = _model_and_train_run(experiment, config_path, train_run, model_uri)
        evaluate_run = evaluate_run or _evaluate_run_of(experiment, train_run)
        evaluated = get_run(evaluate_run).data
        metrics, nan = evaluated.metrics, float("nan")
        candidate = Figures(
            metrics.get(policy.metric, nan),
            metrics.get(BASELINE_METRIC_PREFIX + policy.metric, nan),
            metrics.get(COMMENTS_PER_S_METRIC, nan),
        )
        production_score = metrics.get(PRODUCTION_METRIC_PREFIX + policy.metric)
        same_split = (
            (evaluated.tags[PRODUCTION_SCORED_TAG], production_score)
            if production_score is not None and PRODUCTION_SCORED_TAG in evaluated.tags
            else None
        )
        version, decision = register_and_gate(model_uri, name, candidate, policy, same_split)
        tags = {
            "model": name,
            "version": version.version,
            "promoted": str(decision.promote).lower(),
            "reason": decision.reason,
            "evaluate_run": evaluate_run,
        }
        mlflow.set_tags({REGISTRY_TAG_PREFIX + key: value for key, value in tags.items()})
    return Registered(name, version, decision)

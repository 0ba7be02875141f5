"""The evaluate and register steps as MLflow runs: a train run scored, then gated and registered."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow.entities import Run
from mlflow.entities.model_registry import ModelVersion
from mlflow.tracking import MlflowClient

from toxic_mlops.config import Config, ConfigError
from toxic_mlops.contract import (
    BASELINE_METRIC_PREFIX,
    BASELINE_WIN_PROBABILITY_METRIC,
    COMMENTS_PER_S_METRIC,
    DATA_SOURCES_TAG,
    DOWNLOAD_RUN_TAG,
    MODEL_CARD_ARTIFACT,
    MODEL_URI_TAG,
    PREPROCESS_RUN_TAG,
    PRODUCTION_METRIC_PREFIX,
    PRODUCTION_SCORED_TAG,
    PRODUCTION_WIN_PROBABILITY_METRIC,
    RAW_DATA_TAG,
    REGISTRY_TAG_PREFIX,
    SPANS_REPORT_ARTIFACT,
    SPLITS_ARTIFACT,
    TRAIN_RUN_TAG,
)
from toxic_mlops.data.dataset import load_splits
from toxic_mlops.evaluation.bias import bias_gate_checks
from toxic_mlops.evaluation.evaluate import (
    Evaluation,
    against_production,
    card,
    evaluate,
    figures,
    scored_identity_bias,
)
from toxic_mlops.evaluation.gate import Decision, Figures
from toxic_mlops.evaluation.model_card import ModelFacts
from toxic_mlops.mlflow_io.inputs import pyfunc_predictor
from toxic_mlops.mlflow_io.logs import log_figures, say
from toxic_mlops.mlflow_io.registry import (
    SameSplit,
    current_production,
    register_and_gate,
    version_description,
)
from toxic_mlops.mlflow_io.runs import (
    download_run_artifacts,
    get_run,
    latest_finished_run,
    newest_finished_run,
    step_run,
)


def _train_run(train_run: str) -> Run:
    run = get_run(train_run)
    if MODEL_URI_TAG not in run.data.tags:
        raise ConfigError(f"run {train_run} is not a finished train run with a logged model")
    return run


def _data_sources(preprocess_run: str, data_dir: str) -> list[str]:
    """What the scored data was read from: the download run's sources, a file, or a folder."""
    if data_dir or not preprocess_run:
        return [data_dir]
    tags = get_run(preprocess_run).data.tags
    if tags.get(DOWNLOAD_RUN_TAG):
        return json.loads(get_run(tags[DOWNLOAD_RUN_TAG]).data.tags.get(DATA_SOURCES_TAG, "[]"))
    return [tags[RAW_DATA_TAG]] if tags.get(RAW_DATA_TAG) else []


def evaluate_step(config: Config, config_path: str, train_run: str, data_dir: str) -> Evaluation:
    """Score a train run's model (default: the newest) and the baseline; Production too."""
    with step_run("evaluate") as run, tempfile.TemporaryDirectory() as tmp:
        if not train_run:
            train_run = latest_finished_run(run.info.experiment_id, "train", config_path)
            say(f"evaluate: using the latest train run {train_run}")
        trained = _train_run(train_run).data
        tags = trained.tags
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
        production = _score_production(result, config, splits, train_run)
        for path, table in result.bias_tables.items():
            mlflow.log_table(table, path)
        log_figures(figures(result, config.dataset))
        facts = ModelFacts.from_run(trained.params, trained.metrics)
        sources = _data_sources(preprocess_run, data_dir)
        spans = _span_report(train_run)
        text = card(result, splits, config, facts, sources, production, spans)
        mlflow.log_text(text, MODEL_CARD_ARTIFACT)
    return result


def _span_report(train_run: str) -> dict | None:
    """The train run's toxic-span figures, when it was trained with span data."""
    if not any(
        f.path == SPANS_REPORT_ARTIFACT for f in MlflowClient().list_artifacts(train_run, "spans")
    ):
        return None
    return mlflow.artifacts.load_dict(f"runs:/{train_run}/{SPANS_REPORT_ARTIFACT}")


def _score_production(result: Evaluation, config: Config, splits: dict, train_run: str) -> str:
    """The gate compares with Production on this very split, not on the one it was tested on.
    Returns the name/version scored ("" when there is no other Production model)."""
    production = current_production(MlflowClient(), config.registry.model_name)
    if production is None or production.run_id == train_run:
        return ""
    scored = f"{production.name}/{production.version}"
    predict = pyfunc_predictor(f"models:/{scored}")
    mlflow.log_metrics(against_production(result, predict, splits, config))
    mlflow.set_tag(PRODUCTION_SCORED_TAG, scored)
    if config.bias.gate == "production":
        metric = config.bias.gate_metric
        value = scored_identity_bias(predict, splits, config)[1].metrics()[metric]
        mlflow.log_metric(PRODUCTION_METRIC_PREFIX + metric, value)
    return scored


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
    return train_run, _train_run(train_run).data.tags[MODEL_URI_TAG]


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
            metrics.get(BASELINE_WIN_PROBABILITY_METRIC, nan),
        )
        production_score = metrics.get(PRODUCTION_METRIC_PREFIX + policy.metric)
        same_split = (
            SameSplit(
                evaluated.tags[PRODUCTION_SCORED_TAG],
                production_score,
                metrics.get(PRODUCTION_WIN_PROBABILITY_METRIC, nan),
            )
            if production_score is not None and PRODUCTION_SCORED_TAG in evaluated.tags
            else None
        )
        card_uri = f"runs:/{evaluate_run}/{MODEL_CARD_ARTIFACT}"
        description = version_description(mlflow.artifacts.load_text(card_uri), card_uri)
        bias_production = metrics.get(PRODUCTION_METRIC_PREFIX + config.bias.gate_metric)
        bias_checks = bias_gate_checks(metrics, bias_production, config.bias)
        version, decision = register_and_gate(
            model_uri, name, candidate, policy, same_split, description, bias_checks
        )
        tags = {
            "model": name,
            "version": version.version,
            "promoted": str(decision.promote).lower(),
            "reason": decision.reason,
            "evaluate_run": evaluate_run,
        }
        mlflow.set_tags({REGISTRY_TAG_PREFIX + key: value for key, value in tags.items()})
    return Registered(name, version, decision)

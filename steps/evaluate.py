"""evaluate: score the logged model and a TF-IDF baseline on the same held-out split."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import click
import mlflow
from mlflow.tracking import MlflowClient

from toxic_mlops.cli import recorded_config_option, user_errors
from toxic_mlops.config import Config, ConfigError, load_config
from toxic_mlops.contract import (
    DATA_SOURCES_TAG,
    DOWNLOAD_RUN_TAG,
    MODEL_CARD_ARTIFACT,
    MODEL_URI_TAG,
    PREPROCESS_RUN_TAG,
    PRODUCTION_METRIC_PREFIX,
    PRODUCTION_SCORED_TAG,
    RAW_DATA_TAG,
    SPANS_REPORT_ARTIFACT,
    SPLITS_ARTIFACT,
    TRAIN_RUN_TAG,
)
from toxic_mlops.data.dataset import load_splits
from toxic_mlops.evaluation.evaluate import (
    MODEL,
    PRODUCTION,
    Evaluation,
    against_production,
    card,
    evaluate,
    figures,
    memory_sample,
    scored_identity_bias,
)
from toxic_mlops.evaluation.model_card import ModelFacts
from toxic_mlops.mlflow_io.configs import upstream_run
from toxic_mlops.mlflow_io.inputs import pyfunc_predictor, train_run_with_model
from toxic_mlops.mlflow_io.logs import log_figures
from toxic_mlops.mlflow_io.memory import peak_memory
from toxic_mlops.mlflow_io.registry import current_production
from toxic_mlops.mlflow_io.runs import download_run_artifacts, get_run, step_run


def _data_sources(preprocess_run: str, data_dir: str) -> list[str]:
    """What the scored data was read from: the download run's sources, a file, or a folder."""
    if data_dir or not preprocess_run:
        return [data_dir]
    tags = get_run(preprocess_run).data.tags
    if tags.get(DOWNLOAD_RUN_TAG):
        return json.loads(get_run(tags[DOWNLOAD_RUN_TAG]).data.tags.get(DATA_SOURCES_TAG, "[]"))
    return [tags[RAW_DATA_TAG]] if tags.get(RAW_DATA_TAG) else []


def evaluate_step(config_path: str, train_run: str, data_dir: str) -> Evaluation:
    """Score a train run's model (default: the newest) and the baseline; Production too.

    No config_path: the train run's."""
    with step_run("evaluate") as run, tempfile.TemporaryDirectory() as tmp:
        train_run, config_path = upstream_run(run, "evaluate", "train", train_run, config_path)
        config = load_config(config_path)
        trained = train_run_with_model(train_run).data
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
        model_uri = tags[MODEL_URI_TAG]
        result = evaluate(splits, pyfunc_predictor(model_uri), config)
        result.add_memory(MODEL, peak_memory(model_uri, memory_sample(splits)))
        mlflow.log_metrics(result.metrics)
        production = _score_production(result, config, splits, train_run)
        for path, table in result.bias_tables.items():
            mlflow.log_table(table, path)
        log_figures(figures(result, config.dataset))
        facts = ModelFacts.from_run(trained.params, trained.metrics)
        sources = _data_sources(preprocess_run, data_dir)
        text = card(result, splits, config, facts, sources, production, span_report(train_run))
        mlflow.log_text(text, MODEL_CARD_ARTIFACT)
    return result


def span_report(train_run: str) -> dict | None:
    """The train run's toxic-span figures, when it was trained with span data."""
    if not any(
        f.path == SPANS_REPORT_ARTIFACT for f in MlflowClient().list_artifacts(train_run, "spans")
    ):
        return None
    return mlflow.artifacts.load_dict(f"runs:/{train_run}/{SPANS_REPORT_ARTIFACT}")


def _score_production(result: Evaluation, config: Config, splits: dict, train_run: str) -> str:
    """The gate compares with Production on this very split, not on the one it was tested on,
    and its memory measured as the model's was, in this run. Returns the name/version scored
    ("" when there is no other Production model)."""
    production = current_production(MlflowClient(), config.registry.model_name)
    if production is None or production.run_id == train_run:
        return ""
    scored = f"{production.name}/{production.version}"
    predict = pyfunc_predictor(f"models:/{scored}")
    mlflow.log_metrics(against_production(result, predict, splits, config))
    measured = peak_memory(f"models:/{scored}", memory_sample(splits))
    mlflow.log_metrics(result.add_memory(PRODUCTION, measured))
    mlflow.set_tag(PRODUCTION_SCORED_TAG, scored)
    if config.bias.gate == "production":
        metric = config.bias.gate_metric
        value = scored_identity_bias(predict, splits, config)[1].metrics()[metric]
        mlflow.log_metric(PRODUCTION_METRIC_PREFIX + metric, value)
    return scored


@click.command()
@recorded_config_option
@click.option("--train-run", default="", help="Run id of a finished train step (default: newest).")
@click.option("--data-dir", default="", help="Splits folder, if the model was trained from one.")
@user_errors
def main(config_path: str, train_run: str, data_dir: str) -> None:
    result = evaluate_step(config_path, train_run, data_dir)
    click.echo(f"evaluate: {result.summary()}")


if __name__ == "__main__":
    main()

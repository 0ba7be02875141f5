"""register: add the trained model to the registry; promote it only if it passes the gate."""

from __future__ import annotations

from dataclasses import dataclass

import click
import mlflow
from mlflow.entities.model_registry import ModelVersion

from toxic_mlops.cli import recorded_config_option, user_errors
from toxic_mlops.config import ConfigError, load_config
from toxic_mlops.contract import (
    BASELINE_METRIC_PREFIX,
    BASELINE_WIN_PROBABILITY_METRIC,
    COMMENTS_PER_S_METRIC,
    MODEL_CARD_ARTIFACT,
    MODEL_URI_TAG,
    PEAK_RSS_METRIC,
    PRODUCTION_METRIC_PREFIX,
    PRODUCTION_SCORED_TAG,
    PRODUCTION_WIN_PROBABILITY_METRIC,
    REGISTRY_TAG_PREFIX,
    TRAIN_RUN_TAG,
)
from toxic_mlops.evaluation.gate import Decision, Figures, bias_gate_checks
from toxic_mlops.mlflow_io.configs import model_run_config, upstream_run
from toxic_mlops.mlflow_io.inputs import train_run_with_model
from toxic_mlops.mlflow_io.registry import SameSplit, register_and_gate, version_description
from toxic_mlops.mlflow_io.runs import get_run, newest_finished_run, step_run


@dataclass(frozen=True)
class Registered:
    name: str
    version: ModelVersion
    decision: Decision

    def summary(self) -> str:
        outcome = "promoted to Production" if self.decision.promote else "registered, NOT promoted"
        return f"{self.name} version {self.version.version} {outcome}: {self.decision.reason}"


def _evaluate_run_of(experiment_id: str, train_run: str) -> str:
    found = newest_finished_run(
        experiment_id, "evaluate", f"tags.`{TRAIN_RUN_TAG}` = '{train_run}'"
    )
    if found is None:
        raise ConfigError(
            f"train run {train_run} has no finished evaluate run: the gate needs its "
            f"figures. Run `mlflow run . -e evaluate --env-manager local -P train_run={train_run}` "
            "first."
        )
    return found.info.run_id


def _candidate(metrics: dict[str, float], metric: str) -> Figures:
    nan = float("nan")
    return Figures(
        metrics.get(metric, nan),
        metrics.get(BASELINE_METRIC_PREFIX + metric, nan),
        metrics.get(COMMENTS_PER_S_METRIC, nan),
        metrics.get(BASELINE_WIN_PROBABILITY_METRIC, nan),
        peak_rss_mb=metrics.get(PEAK_RSS_METRIC, nan),
    )


def _same_split(metrics: dict[str, float], tags: dict[str, str], metric: str) -> SameSplit | None:
    """Production scored (and its memory measured) by the evaluate run on the candidate's
    split, when it scored one."""
    production_score = metrics.get(PRODUCTION_METRIC_PREFIX + metric)
    if production_score is None or PRODUCTION_SCORED_TAG not in tags:
        return None
    return SameSplit(
        tags[PRODUCTION_SCORED_TAG],
        production_score,
        metrics.get(PRODUCTION_WIN_PROBABILITY_METRIC, float("nan")),
        metrics.get(PRODUCTION_METRIC_PREFIX + PEAK_RSS_METRIC, float("nan")),
    )


def register_step(
    config_path: str, train_run: str, model_uri: str, evaluate_run: str, name: str
) -> Registered:
    """Register a model (default: the newest train run's); promote it only if the gate passes.

    No config_path: the train run's (the run that logged model_uri)."""
    if train_run and model_uri:
        raise ConfigError("give one of -P train_run=<run id> or -P model_uri=<uri>, not both")
    with step_run("register") as this_run:
        experiment = this_run.info.experiment_id
        if model_uri:
            train_run = mlflow.models.get_model_info(model_uri).run_id
            config_path = model_run_config("register", train_run, config_path)
        else:
            train_run, config_path = upstream_run(
                this_run, "register", "train", train_run, config_path
            )
            model_uri = train_run_with_model(train_run).data.tags[MODEL_URI_TAG]
        config = load_config(config_path)
        name = name or config.registry.model_name
        policy = config.registry.gate
        evaluate_run = evaluate_run or _evaluate_run_of(experiment, train_run)
        evaluated = get_run(evaluate_run).data
        metrics = evaluated.metrics
        card_uri = f"runs:/{evaluate_run}/{MODEL_CARD_ARTIFACT}"
        description = version_description(mlflow.artifacts.load_text(card_uri), card_uri)
        bias_production = metrics.get(PRODUCTION_METRIC_PREFIX + config.bias.gate_metric)
        version, decision = register_and_gate(
            model_uri,
            name,
            _candidate(metrics, policy.metric),
            policy,
            _same_split(metrics, evaluated.tags, policy.metric),
            description,
            bias_gate_checks(metrics, bias_production, config.bias),
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


@click.command()
@recorded_config_option
@click.option("--train-run", default="", help="Run id of a finished train step (default: newest).")
@click.option("--model-uri", default="", help="Or a model URI (models:/..., runs:/...).")
@click.option("--evaluate-run", default="", help="Its evaluate run (default: newest for it).")
@click.option("--name", default="", help="Registered model name; empty = the config's.")
@user_errors
def main(config_path: str, train_run: str, model_uri: str, evaluate_run: str, name: str) -> None:
    registered = register_step(config_path, train_run, model_uri, evaluate_run, name)
    click.echo(f"register: {registered.summary()}")


if __name__ == "__main__":
    main()

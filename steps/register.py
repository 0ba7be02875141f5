"""register: add the trained model to the registry; promote it only if it passes the gate."""

from __future__ import annotations

import click
import mlflow

from steps.common import DEFAULT_CONFIG, step_run, user_errors
from toxic_mlops.config import ConfigError, load_config
from toxic_mlops.mlflow_io.registry import (
    PRODUCTION_METRIC_PREFIX,
    PRODUCTION_SCORED_TAG,
    Figures,
    register_and_gate,
)
from toxic_mlops.mlflow_io.runs import (
    MODEL_URI_TAG,
    TRAIN_RUN_TAG,
    get_run,
    latest_finished_run,
    newest_finished_run,
)


@click.command()
@click.option("--config", "config_path", default=DEFAULT_CONFIG, show_default=True)
@click.option("--train-run", default="", help="Run id of a finished train step (default: newest).")
@click.option("--model-uri", default="", help="Or a model URI (models:/..., runs:/...).")
@click.option("--evaluate-run", default="", help="Its evaluate run (default: newest for it).")
@click.option("--name", default="", help="Registered model name; empty = the config's.")
@user_errors
def main(config_path: str, train_run: str, model_uri: str, evaluate_run: str, name: str) -> None:
    if train_run and model_uri:
        raise ConfigError("give one of -P train_run=<run id> or -P model_uri=<uri>, not both")
    config = load_config(config_path)
    name = name or config.registry.model_name
    policy = config.registry.gate

    with step_run("register") as this_run:
        experiment = this_run.info.experiment_id
        if model_uri:
            train_run = mlflow.models.get_model_info(model_uri).run_id
        else:
            if not train_run:
                train_run = latest_finished_run(experiment, "train", config_path)
                click.echo(f"register: using the latest train run {train_run}")
            tags = get_run(train_run).data.tags
            if MODEL_URI_TAG not in tags:
                raise ConfigError(f"run {train_run} is not a finished train run with a model")
            model_uri = tags[MODEL_URI_TAG]
        if not evaluate_run:
            found = newest_finished_run(
                experiment, "evaluate", f"tags.`{TRAIN_RUN_TAG}` = '{train_run}'"
            )
            if found is None:
                raise ConfigError(
                    f"train run {train_run} has no finished evaluate run: the gate needs its "
                    f"figures. Run `mlflow run . -e evaluate -P train_run={train_run}` first."
                )
            evaluate_run = found.info.run_id
        evaluate = get_run(evaluate_run).data
        metrics = evaluate.metrics
        candidate = Figures(
            metrics.get(policy.metric, float("nan")),
            metrics.get(f"baseline_{policy.metric}", float("nan")),
            metrics.get("comments_per_s", float("nan")),
        )
        production_score = evaluate.metrics.get(PRODUCTION_METRIC_PREFIX + policy.metric)
        same_split = (
            (evaluate.tags[PRODUCTION_SCORED_TAG], production_score)
            if production_score is not None and PRODUCTION_SCORED_TAG in evaluate.tags
            else None
        )
        version, decision = register_and_gate(model_uri, name, candidate, policy, same_split)
        mlflow.set_tags(
            {
                "registry.model": name,
                "registry.version": version.version,
                "registry.promoted": str(decision.promote).lower(),
                "registry.reason": decision.reason,
                "registry.evaluate_run": evaluate_run,
            }
        )
        outcome = "promoted to Production" if decision.promote else "registered, NOT promoted"
        click.echo(f"register: {name} version {version.version} {outcome}: {decision.reason}")


if __name__ == "__main__":
    main()

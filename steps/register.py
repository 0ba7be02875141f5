"""register: add the trained model to the registry; promote it only if it is at least as good."""

from __future__ import annotations

import click
import mlflow

from steps.common import DEFAULT_CONFIG, step_run, user_errors
from steps.train import MODEL_URI_TAG
from toxic_mlops.config import ConfigError, load_config
from toxic_mlops.registry import register_and_gate
from toxic_mlops.tracking import get_run, latest_finished_run


@click.command()
@click.option("--config", "config_path", default=DEFAULT_CONFIG, show_default=True)
@click.option("--train-run", default="", help="Run id of a finished train step.")
@click.option("--model-uri", default="", help="Or a model URI (models:/..., runs:/...).")
@click.option("--name", default="", help="Registered model name; empty = the config's.")
@user_errors
def main(config_path: str, train_run: str, model_uri: str, name: str) -> None:
    if train_run and model_uri:
        raise ConfigError("give one of -P train_run=<run id> or -P model_uri=<uri>, not both")
    registry = load_config(config_path)["registry"]
    name = name or registry["model_name"]
    metric = registry["gate_metric"]

    with step_run("register") as this_run:
        if model_uri:
            source_run = mlflow.models.get_model_info(model_uri).run_id
        else:
            if not train_run:
                train_run = latest_finished_run(this_run.info.experiment_id, "train", config_path)
                click.echo(f"register: using the latest train run {train_run}")
            run = get_run(train_run)
            if run.info.status != "FINISHED" or MODEL_URI_TAG not in run.data.tags:
                raise ConfigError(
                    f"run {train_run} is not a finished train run with a logged model"
                )
            model_uri, source_run = run.data.tags[MODEL_URI_TAG], train_run
        version, decision = register_and_gate(model_uri, source_run, name, metric)
        mlflow.set_tags(
            {
                "registry.model": name,
                "registry.version": version.version,
                "registry.promoted": str(decision.promote).lower(),
                "registry.reason": decision.reason,
            }
        )
        outcome = "promoted to Production" if decision.promote else "registered, NOT promoted"
        click.echo(f"register: {name} version {version.version} {outcome}: {decision.reason}")


if __name__ == "__main__":
    main()

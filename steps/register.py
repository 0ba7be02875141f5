"""register: add the trained model to the registry; promote it only if it passes the gate."""

from __future__ import annotations

import click

from steps.common import config_option, user_errors
from toxic_mlops.config import load_config
from toxic_mlops.mlflow_io.evaluate_steps import register_step


@click.command()
@config_option
@click.option("--train-run", default="", help="Run id of a finished train step (default: newest).")
@click.option("--model-uri", default="", help="Or a model URI (models:/..., runs:/...).")
@click.option("--evaluate-run", default="", help="Its evaluate run (default: newest for it).")
@click.option("--name", default="", help="Registered model name; empty = the config's.")
@user_errors
def main(config_path: str, train_run: str, model_uri: str, evaluate_run: str, name: str) -> None:
    config = load_config(config_path)
    registered = register_step(config, config_path, train_run, model_uri, evaluate_run, name)
    click.echo(f"register: {registered.summary()}")


if __name__ == "__main__":
    main()

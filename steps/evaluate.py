"""evaluate: score the logged model and a TF-IDF baseline on the same held-out split."""

from __future__ import annotations

import click

from steps.common import config_option, user_errors
from toxic_mlops.config import load_config
from toxic_mlops.mlflow_io.evaluate_steps import evaluate_step


@click.command()
@config_option
@click.option("--train-run", default="", help="Run id of a finished train step (default: newest).")
@click.option("--data-dir", default="", help="Splits folder, if the model was trained from one.")
@user_errors
def main(config_path: str, train_run: str, data_dir: str) -> None:
    result = evaluate_step(load_config(config_path), config_path, train_run, data_dir)
    click.echo(f"evaluate: {result.summary()}")


if __name__ == "__main__":
    main()

"""validate: check a new batch of comments before use; hard failures stop, warnings are logged.

Compared with the data the reference model (default: the registry's Production version) was
trained on, when there is one: label rates and text lengths. Logs validation/report.{md,json}.
"""

from __future__ import annotations

import click

from steps.common import config_option, user_errors
from toxic_mlops.config import load_config, parse_bool
from toxic_mlops.mlflow_io.loop_steps import NO_REFERENCE, validate_step


@click.command()
@config_option
@click.option("--data", required=True, help="Path, URL, hf:// or artifact URI of the batch.")
@click.option(
    "--model", default="", help=f"Reference model URI; empty = Production, {NO_REFERENCE}."
)
@click.option("--require-labels", default="true", help="false: an unlabelled batch is fine.")
@user_errors
def main(config_path: str, data: str, model: str, require_labels: str) -> None:
    labels_required = parse_bool(require_labels, "require_labels")
    validate_step(load_config(config_path), data, model, labels_required)


if __name__ == "__main__":
    main()

"""Create the experiment the Makefile runs in, with artifacts under ./mlartifacts (local store)."""

from __future__ import annotations

from pathlib import Path

import click

from steps.common import user_errors
from toxic_mlops.mlflow_io.runs import ensure_experiment


@click.command()
@click.option("--experiment", required=True)
@click.option("--artifact-root", default="mlartifacts", show_default=True)
@user_errors
def main(experiment: str, artifact_root: str) -> None:
    experiment_id = ensure_experiment(experiment, Path(artifact_root))
    click.echo(f"experiment {experiment!r} (id {experiment_id})")


if __name__ == "__main__":
    main()

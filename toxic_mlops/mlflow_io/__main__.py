"""The tracking commands that start no MLflow run: set up the experiment, trace a model.

python -m toxic_mlops.mlflow_io init-tracking --experiment toxic   (make experiment)
python -m toxic_mlops.mlflow_io lineage --model models:/toxic/Production   (make lineage)
"""

from __future__ import annotations

from pathlib import Path

import click
from mlflow.tracking import MlflowClient

from toxic_mlops.cli import user_errors
from toxic_mlops.mlflow_io.lineage import format_tree, trace_model
from toxic_mlops.mlflow_io.runs import ensure_experiment


@click.group()
def main() -> None:
    pass


@main.command("init-tracking")
@click.option("--experiment", required=True)
@click.option("--artifact-root", default="mlartifacts", show_default=True)
@user_errors
def init_tracking(experiment: str, artifact_root: str) -> None:
    """Create the experiment, with artifacts under ./mlartifacts on a local store."""
    experiment_id = ensure_experiment(experiment, Path(artifact_root))
    click.echo(f"experiment {experiment!r} (id {experiment_id})")


@main.command("lineage")
@click.option("--model", "model_uri", default="models:/toxic/Production", show_default=True)
@user_errors
def lineage(model_uri: str) -> None:
    """Where a registered model came from, down to the source files and their digests."""
    click.echo(format_tree(trace_model(MlflowClient(), model_uri)))


if __name__ == "__main__":
    main()

"""The tracking commands that start no MLflow run: set up the experiment, trace a model, quote
the demo model's figures in the docs.

python -m toxic_mlops.mlflow_io init-tracking --experiment toxic   (make experiment)
python -m toxic_mlops.mlflow_io lineage --model models:/toxic/Production   (make lineage)
python -m toxic_mlops.mlflow_io docs-figures [--check]   (make docs-figures, after make demo)
"""

from __future__ import annotations

from pathlib import Path

import click
from mlflow.tracking import MlflowClient

from toxic_mlops.cli import user_errors
from toxic_mlops.mlflow_io.docs_figures import REGENERATE, demo_blocks, stale_blocks, write_blocks
from toxic_mlops.mlflow_io.lineage import format_tree, trace_model
from toxic_mlops.mlflow_io.runs import PROJECT_ROOT, ensure_experiment


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


@main.command("docs-figures")
@click.option("--experiment", envvar="MLFLOW_EXPERIMENT_NAME", default="toxic", show_default=True)
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if a quoted figure is stale.")
@user_errors
def docs_figures(experiment: str, check: bool) -> None:
    """The figures README and docs quote from `make demo`'s model, from its recorded runs."""
    blocks = demo_blocks(MlflowClient(), experiment)
    if check:
        stale = stale_blocks(PROJECT_ROOT, blocks)
        if stale:
            raise click.ClickException(
                "the docs quote figures that `make demo`'s model does not give "
                f"({'; '.join(stale)}): regenerate them with `{REGENERATE}`"
            )
        click.echo("docs-figures: every quoted figure is the demo model's")
        return
    written = write_blocks(PROJECT_ROOT, blocks)
    click.echo(f"docs-figures: rewrote {'; '.join(written) or 'nothing (all current)'}")


if __name__ == "__main__":
    main()

"""lineage: print where a registered model came from, down to the source files and their digests.

    python -m steps.lineage --model models:/toxic/Production     (make lineage MODEL=...)

Read-only: it starts no MLflow run.
"""

from __future__ import annotations

import click
from mlflow.tracking import MlflowClient

from steps.common import user_errors
from toxic_mlops.mlflow_io.lineage import format_tree, trace_model


@click.command()
@click.option("--model", "model_uri", default="models:/toxic/Production", show_default=True)
@user_errors
def main(model_uri: str) -> None:
    click.echo(format_tree(trace_model(MlflowClient(), model_uri)))


if __name__ == "__main__":
    main()

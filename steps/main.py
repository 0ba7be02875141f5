"""main: download -> preprocess -> train -> evaluate -> register, reusing finished steps."""

from __future__ import annotations

import click
import mlflow
from mlflow.exceptions import ExecutionException
from mlflow.tracking import MlflowClient

from steps.common import ACCEPT_EXTRA_OPTIONS, DEFAULT_CONFIG, extra_options, user_errors
from toxic_mlops.config import parse_bool
from toxic_mlops.errors import PipelineError
from toxic_mlops.mlflow_io.runs import PROJECT_ROOT, code_version, find_finished_run

PARENT_TAG = "mlflow.parentRunId"


def run_step(
    entry_point: str,
    parameters: dict[str, str],
    experiment_id: str,
    parent_run_id: str,
    use_cache: bool,
) -> str:
    """Run one entry point with `mlflow run` semantics, or reuse an equal finished run; its id."""
    parameters = {key: str(value) for key, value in parameters.items()}
    if use_cache:
        previous = find_finished_run(experiment_id, entry_point, parameters, code_version())
        if previous is not None:
            click.echo(f"main: reusing finished {entry_point} run {previous.info.run_id}")
            return previous.info.run_id
    click.echo(f"main: running {entry_point} {parameters}")
    try:
        submitted = mlflow.projects.run(
            str(PROJECT_ROOT),
            entry_point,
            parameters=parameters,
            experiment_id=experiment_id,
            env_manager="local",
            synchronous=True,
        )
    except ExecutionException as error:
        raise PipelineError(f"step {entry_point} failed: {error}") from error
    MlflowClient().set_tag(submitted.run_id, PARENT_TAG, parent_run_id)
    return submitted.run_id


@click.command(context_settings=ACCEPT_EXTRA_OPTIONS)
@click.option("--config", "config_path", default=DEFAULT_CONFIG, show_default=True)
@click.option("--source", default="", help="Comma-separated data sources; empty = the config's.")
@click.option("--sha256", default="", help="Comma-separated sha256 per source (optional).")
@click.option("--sample-fraction", default="", help="Empty = the config's.")
@click.option("--model-name", default="", help="Registered model name; empty = the config's.")
@click.option("--use-cache", default="true", help="Reuse finished steps with equal inputs.")
@click.pass_context
@user_errors
def main(
    ctx: click.Context,
    config_path: str,
    source: str,
    sha256: str,
    sample_fraction: str,
    model_name: str,
    use_cache: str,
) -> None:
    """Extra parameters (-P epochs=2 ...) are passed on to train."""
    train_overrides = extra_options(ctx.args)
    cache = parse_bool(use_cache, "use_cache")
    with mlflow.start_run() as parent:
        ids = (parent.info.experiment_id, parent.info.run_id, cache)
        download = run_step(
            "download",
            {
                "config": config_path,
                "source": source,
                "sha256": sha256,
                "sample_fraction": sample_fraction,
            },
            *ids,
        )
        preprocess = run_step("preprocess", {"config": config_path, "download_run": download}, *ids)
        train = run_step(
            "train", {"config": config_path, "preprocess_run": preprocess, **train_overrides}, *ids
        )
        evaluate = run_step("evaluate", {"config": config_path, "train_run": train}, *ids)
        # Registering is an action, not a result to reuse: it always runs.
        register = run_step(
            "register",
            {
                "config": config_path,
                "train_run": train,
                "evaluate_run": evaluate,
                "name": model_name,
            },
            parent.info.experiment_id,
            parent.info.run_id,
            use_cache=False,
        )
        mlflow.set_tags(
            {
                f"pipeline.{name}_run": run_id
                for name, run_id in [
                    ("download", download),
                    ("preprocess", preprocess),
                    ("train", train),
                    ("evaluate", evaluate),
                    ("register", register),
                ]
            }
        )
        click.echo(f"main: done; train run {train}, register run {register}")


if __name__ == "__main__":
    main()

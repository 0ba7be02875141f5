"""main: download -> preprocess -> train -> evaluate -> register, reusing finished steps."""

from __future__ import annotations

from collections.abc import Mapping

import click
import mlflow
from mlflow.tracking import MlflowClient

from toxic_mlops.cli import ACCEPT_EXTRA_OPTIONS, config_option, extra_options, user_errors
from toxic_mlops.config import parse_bool
from toxic_mlops.contract import PIPELINE_TAG_PREFIX, REGISTRY_TAG_PREFIX
from toxic_mlops.mlflow_io.chain import StepRunner, train_to_registry
from toxic_mlops.mlflow_io.configs import use_config


def pipeline_step(
    config_path: str,
    download: Mapping[str, str],
    train_overrides: Mapping[str, str],
    model_name: str,
    use_cache: bool,
) -> dict[str, str]:
    """The main entry point: download, then the chain, as child runs of one parent run."""
    with mlflow.start_run() as parent:
        use_config("main", config_path)
        runner = StepRunner(parent.info.experiment_id, parent.info.run_id, use_cache, "main")
        runs = {"download": runner.run("download", {"config": config_path, **download})}
        runs.update(
            train_to_registry(
                runner,
                config_path,
                {"download_run": runs["download"]},
                train_overrides,
                model_name,
            )
        )
        mlflow.set_tags({f"{PIPELINE_TAG_PREFIX}{name}_run": run for name, run in runs.items()})
    return runs


@click.command(context_settings=ACCEPT_EXTRA_OPTIONS)
@config_option
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
    download = {"source": source, "sha256": sha256, "sample_fraction": sample_fraction}
    cache = parse_bool(use_cache, "use_cache")
    runs = pipeline_step(config_path, download, extra_options(ctx.args), model_name, cache)
    registered = MlflowClient().get_run(runs["register"]).data.tags
    name, version = (registered.get(REGISTRY_TAG_PREFIX + key) for key in ("model", "version"))
    click.echo(
        f"main: done; train run {runs['train']} is {name} version {version} "
        f"(register run {runs['register']})"
    )


if __name__ == "__main__":
    main()

"""retrain: validate -> monitor -> (on drift, degradation or force) retrain on reference + new data.

    mlflow run . -e retrain --env-manager local -P new_data=<path or URL> [-P force=true] [...]

The new batch must carry labels. The reference data is what the current Production model was
trained on (its preprocess run's splits, raw text); the combined file is logged on this run and
preprocessed, trained, evaluated and registered like any other. The register gate decides: a worse
model is never promoted, and any failure leaves Production as it was.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import click
import mlflow
from mlflow.tracking import MlflowClient

from toxic_mlops.cli import (
    ACCEPT_EXTRA_OPTIONS,
    extra_options,
    recorded_config_option,
    user_errors,
)
from toxic_mlops.config import Config, RegistryConfig, load_config, parse_bool
from toxic_mlops.contract import (
    COMBINED_ARTIFACT,
    MONITOR_VERDICT_TAG,
    NEW_DATA_SHA256_TAG,
    NEW_DATA_TAG,
    REFERENCE_PREPROCESS_RUN_TAG,
    REGISTRY_TAG_PREFIX,
    RETRAIN_TAG_PREFIX,
)
from toxic_mlops.data.dataset import combine
from toxic_mlops.mlflow_io.chain import StepRunner, train_to_registry
from toxic_mlops.mlflow_io.configs import model_config, recorded_config
from toxic_mlops.mlflow_io.inputs import read_batch, reference_splits
from toxic_mlops.mlflow_io.lineage import ModelReference, model_reference
from toxic_mlops.mlflow_io.logs import say
from toxic_mlops.mlflow_io.runs import step_run


def retrain_step(
    config_path: str,
    new_data: str,
    forced: bool,
    model_name: str,
    train_overrides: Mapping[str, str],
) -> str:
    """validate -> monitor -> (drift, degraded or forced) the chain on reference + new rows.

    No config_path: the one Production's train run used (its data is half of the new data)."""
    with step_run("retrain") as parent, tempfile.TemporaryDirectory() as tmp:
        given = RegistryConfig().production_uri(model_name)
        config_path = model_config("retrain", given, config_path)
        config = load_config(config_path)
        name = model_name or config.registry.model_name
        production = config.registry.production_uri(name)
        reference = model_reference(MlflowClient(), production)
        _warn_on_other_config(reference, config_path)
        base = {"config": config_path, "data": new_data, "model": production}
        # Always fresh (no cache): the data is new.
        runner = StepRunner(parent.info.experiment_id, parent.info.run_id, False, "retrain")
        runner.run("validate", {**base, "require_labels": "true"})
        monitor = runner.run("monitor", base)
        verdict = MlflowClient().get_run(monitor).data.tags[MONITOR_VERDICT_TAG]
        mlflow.set_tag(RETRAIN_TAG_PREFIX + "verdict", verdict)
        if verdict == "ok" and not forced:
            mlflow.set_tag(RETRAIN_TAG_PREFIX + "decision", "skipped")
            return "monitoring says ok; Production left as it is (-P force=true retrains anyway)"
        combined = _log_combined(config, reference, new_data, Path(tmp), parent.info.run_id)
        say(
            f"retrain: {verdict}{' (forced)' if forced else ''}; training on "
            f"{combined.rows:,} rows ({combined.new_rows:,} new) with Production {name} "
            f"version {reference.version.version} as the bar"
        )
        runs = train_to_registry(
            runner, config_path, {"raw_data": combined.uri}, train_overrides, name
        )
        tags = MlflowClient().get_run(runs["register"]).data.tags
        promoted = tags.get(REGISTRY_TAG_PREFIX + "promoted") == "true"
        mlflow.set_tags(
            {
                RETRAIN_TAG_PREFIX + "promoted": str(promoted).lower(),
                RETRAIN_TAG_PREFIX + "train_run": runs["train"],
            }
        )
    outcome = "promoted to Production" if promoted else "registered, NOT promoted"
    version, reason = (tags.get(REGISTRY_TAG_PREFIX + key) for key in ("version", "reason"))
    return f"{name} version {version} {outcome}: {reason}"


def _warn_on_other_config(reference: ModelReference, config_path: str) -> None:
    """The reference rows follow the config Production was trained with (e.g. its missing
    labels allowed); another config may not accept them."""
    recorded = recorded_config(reference.train_run)
    if recorded and recorded != config_path:
        version = reference.version
        say(
            f"retrain: warning: {version.name} version {version.version} was trained with "
            f"config {recorded}; retraining on its data with {config_path}"
        )


@dataclass(frozen=True)
class Combined:
    uri: str  # runs:/ URI of the combined file
    rows: int
    new_rows: int


def _log_combined(
    config: Config, reference: ModelReference, new_data: str, work: Path, run_id: str
) -> Combined:
    """Reference rows + the new batch, logged on this run as the input of preprocess."""
    batch, files = read_batch(new_data, config.dataset, work)
    splits = reference_splits(reference.preprocess_run, work)
    combined = combine(splits, batch, config.dataset.text_column)
    path = work / Path(COMBINED_ARTIFACT).name
    combined.to_parquet(path, index=False)
    mlflow.log_artifact(str(path), str(Path(COMBINED_ARTIFACT).parent))
    mlflow.set_tags(
        {
            REFERENCE_PREPROCESS_RUN_TAG: reference.preprocess_run,
            NEW_DATA_TAG: new_data,
            NEW_DATA_SHA256_TAG: ",".join(f.sha256 for f in files),
            RETRAIN_TAG_PREFIX + "decision": "retrained",
        }
    )
    return Combined(f"runs:/{run_id}/{COMBINED_ARTIFACT}", len(combined), len(batch))


@click.command(context_settings=ACCEPT_EXTRA_OPTIONS)
@recorded_config_option
@click.option("--new-data", required=True, help="Path, URL, hf:// or artifact URI, with labels.")
@click.option("--force", default="false", help="true: retrain even when monitoring says ok.")
@click.option("--model-name", default="", help="Registered model name; empty = the config's.")
@click.pass_context
@user_errors
def main(ctx: click.Context, config_path: str, new_data: str, force: str, model_name: str) -> None:
    """Extra -P settings (epochs=3 ...) are passed on to train."""
    train_overrides = extra_options(ctx.args)
    forced = parse_bool(force, "force")
    outcome = retrain_step(config_path, new_data, forced, model_name, train_overrides)
    click.echo(f"retrain: {outcome}")


if __name__ == "__main__":
    main()

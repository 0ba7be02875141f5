"""retrain: validate -> monitor -> (on drift, degradation or force) retrain on reference + new data.

    mlflow run . -e retrain -P new_data=<path or URL> [-P force=true] [-P epochs=3 ...]

The new batch must carry labels. The reference data is what the current Production model was
trained on (its preprocess run's splits, raw text); the combined file is logged on this run and
preprocessed, trained, evaluated and registered like any other. The register gate decides: a worse
model is never promoted, and any failure leaves Production as it was.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient

from steps.common import ACCEPT_EXTRA_OPTIONS, DEFAULT_CONFIG, extra_options, step_run, user_errors
from steps.main import run_step
from steps.monitor import VERDICT_TAG
from toxic_mlops.config import load_config, parse_bool
from toxic_mlops.data.dataset import SPLIT_COLUMN, TEXT
from toxic_mlops.mlflow_io.inputs import read_batch, reference_splits
from toxic_mlops.mlflow_io.lineage import (
    NEW_DATA_SHA256_TAG,
    NEW_DATA_TAG,
    REFERENCE_PREPROCESS_RUN_TAG,
    model_reference,
)

COMBINED_ARTIFACT = "data/combined.parquet"


def combine(
    reference: dict[str, pd.DataFrame], batch: pd.DataFrame, text_column: str
) -> pd.DataFrame:
    """Reference rows (source column names, each marked with its split) and then the new batch.

    The marks keep Production's validation and test rows out of the new training split, so the
    gate's comparison on the new validation split does not favour either model.
    """
    old = pd.concat(
        [part.assign(**{SPLIT_COLUMN: name}) for name, part in reference.items()],
        ignore_index=True,
    ).rename(columns={TEXT: text_column})
    new = batch[[c for c in old.columns if c in batch.columns]]
    return pd.concat([old, new], ignore_index=True)


@click.command(context_settings=ACCEPT_EXTRA_OPTIONS)
@click.option("--config", "config_path", default=DEFAULT_CONFIG, show_default=True)
@click.option("--new-data", required=True, help="Path, URL, hf:// or artifact URI, with labels.")
@click.option("--force", default="false", help="true: retrain even when monitoring says ok.")
@click.option("--model-name", default="", help="Registered model name; empty = the config's.")
@click.pass_context
@user_errors
def main(ctx: click.Context, config_path: str, new_data: str, force: str, model_name: str) -> None:
    """Extra -P settings (epochs=3 ...) are passed on to train."""
    train_overrides = extra_options(ctx.args)
    config = load_config(config_path)
    dataset = config.dataset
    name = model_name or config.registry.model_name
    production = config.registry.production_uri(name)
    forced = parse_bool(force, "force")

    with step_run("retrain") as parent, tempfile.TemporaryDirectory() as tmp:
        ids = (parent.info.experiment_id, parent.info.run_id, False)  # always fresh: new data
        reference = model_reference(MlflowClient(), production)
        run_step(
            "validate",
            {
                "config": config_path,
                "data": new_data,
                "model": production,
                "require_labels": "true",
            },
            *ids,
        )
        monitor = run_step(
            "monitor", {"config": config_path, "data": new_data, "model": production}, *ids
        )
        verdict = MlflowClient().get_run(monitor).data.tags[VERDICT_TAG]
        mlflow.set_tag("retrain.verdict", verdict)
        if verdict == "ok" and not forced:
            mlflow.set_tag("retrain.decision", "skipped")
            click.echo(
                "retrain: monitoring says ok; Production left as it is (force=true to retrain)"
            )
            return

        work = Path(tmp)
        batch, files = read_batch(new_data, dataset, work)
        combined = combine(
            reference_splits(reference.preprocess_run, work), batch, dataset.text_column
        )
        combined_path = work / Path(COMBINED_ARTIFACT).name
        combined.to_parquet(combined_path, index=False)
        mlflow.log_artifact(str(combined_path), str(Path(COMBINED_ARTIFACT).parent))
        mlflow.set_tags(
            {
                REFERENCE_PREPROCESS_RUN_TAG: reference.preprocess_run,
                NEW_DATA_TAG: new_data,
                NEW_DATA_SHA256_TAG: ",".join(f.sha256 for f in files),
                "retrain.decision": "retrained",
            }
        )
        click.echo(
            f"retrain: {verdict}{' (forced)' if forced else ''}; training on {len(combined):,} "
            f"rows ({len(batch):,} new) with Production {name} version "
            f"{reference.version.version} as the bar"
        )
        preprocess = run_step(
            "preprocess",
            {"config": config_path, "raw_data": f"runs:/{parent.info.run_id}/{COMBINED_ARTIFACT}"},
            *ids,
        )
        train = run_step(
            "train", {"config": config_path, "preprocess_run": preprocess, **train_overrides}, *ids
        )
        evaluate = run_step("evaluate", {"config": config_path, "train_run": train}, *ids)
        register = run_step(
            "register",
            {"config": config_path, "train_run": train, "evaluate_run": evaluate, "name": name},
            *ids,
        )
        tags = MlflowClient().get_run(register).data.tags
        promoted = tags.get("registry.promoted") == "true"
        mlflow.set_tags({"retrain.promoted": str(promoted).lower(), "retrain.train_run": train})
        click.echo(
            f"retrain: {name} version {tags.get('registry.version')} "
            f"{'promoted to Production' if promoted else 'registered, NOT promoted'}: "
            f"{tags.get('registry.reason')}"
        )


if __name__ == "__main__":
    main()

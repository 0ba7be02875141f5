"""validate: check a new batch of comments before use; hard failures stop, warnings are logged.

Compared with the data the reference model (default: the registry's Production version) was
trained on, when there is one: label rates and text lengths. Logs validation/report.{md,json}.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient

from toxic_mlops.cli import recorded_config_option, user_errors
from toxic_mlops.config import Config, RegistryConfig, load_config, parse_bool
from toxic_mlops.contract import VALIDATION_REFERENCE_TAG
from toxic_mlops.errors import PipelineError
from toxic_mlops.mlflow_io.configs import model_config
from toxic_mlops.mlflow_io.inputs import read_batch, reference_splits
from toxic_mlops.mlflow_io.lineage import model_reference
from toxic_mlops.mlflow_io.logs import data_tags, log_validation, say
from toxic_mlops.mlflow_io.runs import step_run
from toxic_mlops.monitoring.validation import ValidationReport, validate_batch

NO_REFERENCE = "none"


class ValidationFailed(PipelineError):
    """The batch breaks a hard rule; the message lists them."""


def _reference_train_split(config: Config, model: str, workdir: Path) -> pd.DataFrame | None:
    """The training split of the reference model's data; None when there is none to compare."""
    if model.lower() == NO_REFERENCE:
        return None
    try:
        found = model_reference(MlflowClient(), model or config.registry.production_uri())
    except PipelineError as error:
        if model:
            raise
        say(f"validate: no reference data ({error}); checking the batch alone")
        return None
    mlflow.set_tag(VALIDATION_REFERENCE_TAG, found.preprocess_run)
    return reference_splits(found.preprocess_run, workdir)["train"]


def validate_step(
    config_path: str, data: str, model: str, require_labels: bool
) -> ValidationReport:
    """Check a batch against the schema and the reference model's training data.

    No config_path: the reference model's (default: Production's)."""
    with step_run("validate"), tempfile.TemporaryDirectory() as tmp:
        referenced = "" if model.lower() == NO_REFERENCE else model
        config_path = model_config(
            "validate", referenced or RegistryConfig().production_uri(), config_path
        )
        config = load_config(config_path)
        work = Path(tmp)
        batch, files = read_batch(data, config.dataset, work)
        mlflow.set_tags(data_tags([data], files))
        reference = _reference_train_split(config, model, work)
        report = validate_batch(
            batch,
            config.dataset,
            config.normalization,
            config.validation,
            reference,
            require_labels,
        )
        mlflow.log_metric("rows", report.rows)
        status = log_validation(report, data)
        say(f"validate: {status} on {report.rows:,} rows: {report.summary()}")
        if report.failures:
            raise ValidationFailed(f"the batch failed validation: {report.summary()}")
    return report


@click.command()
@recorded_config_option
@click.option("--data", required=True, help="Path, URL, hf:// or artifact URI of the batch.")
@click.option(
    "--model", default="", help=f"Reference model URI; empty = Production, {NO_REFERENCE}."
)
@click.option("--require-labels", default="true", help="false: an unlabelled batch is fine.")
@user_errors
def main(config_path: str, data: str, model: str, require_labels: str) -> None:
    labels_required = parse_bool(require_labels, "require_labels")
    validate_step(config_path, data, model, labels_required)


if __name__ == "__main__":
    main()

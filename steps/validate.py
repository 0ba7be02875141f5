"""validate: check a new batch of comments before use; hard failures stop, warnings are logged.

Compared with the data the reference model (default: the registry's Production version) was
trained on, when there is one: label rates and text lengths. Logs validation/report.{md,json}.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
import mlflow
from mlflow.tracking import MlflowClient

from steps.common import DEFAULT_CONFIG, step_run, user_errors
from toxic_mlops.config import load_config, parse_bool
from toxic_mlops.errors import PipelineError
from toxic_mlops.mlflow_io.inputs import read_batch, reference_splits
from toxic_mlops.mlflow_io.lineage import model_reference
from toxic_mlops.monitoring.validation import ValidationReport, validate_batch

NO_REFERENCE = "none"


class ValidationFailed(PipelineError):
    """The batch breaks a hard rule; the message lists them."""


def log_validation(report: ValidationReport, source: str) -> str:
    """Report artifacts, counts and the validation.status tag on the active run; the status."""
    status = "fail" if report.failures else "warn" if report.warnings else "ok"
    mlflow.log_text(report.to_markdown(f"Validation of {source}"), "validation/report.md")
    mlflow.log_dict(report.to_dict(), "validation/report.json")
    mlflow.log_metrics(
        {
            "validation_failures": len(report.failures),
            "validation_warnings": len(report.warnings),
        }
    )
    mlflow.set_tag("validation.status", status)
    return status


@click.command()
@click.option("--config", "config_path", default=DEFAULT_CONFIG, show_default=True)
@click.option("--data", required=True, help="Path, URL, hf:// or artifact URI of the batch.")
@click.option(
    "--model", default="", help=f"Reference model URI; empty = Production, {NO_REFERENCE}."
)
@click.option("--require-labels", default="true", help="false: an unlabelled batch is fine.")
@user_errors
def main(config_path: str, data: str, model: str, require_labels: str) -> None:
    config = load_config(config_path)
    dataset, normalizer = config.dataset, config.normalization
    labels_required = parse_bool(require_labels, "require_labels")
    with step_run("validate"), tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        batch, files = read_batch(data, dataset, work)
        mlflow.set_tags({"data.sources": data, "data.sha256": ",".join(f.sha256 for f in files)})
        reference = None
        if model.lower() != NO_REFERENCE:
            try:
                found = model_reference(MlflowClient(), model or config.registry.production_uri())
            except PipelineError as error:
                if model:
                    raise
                click.echo(f"validate: no reference data ({error}); checking the batch alone")
            else:
                reference = reference_splits(found.preprocess_run, work)["train"]
                mlflow.set_tag("validation.reference_run", found.preprocess_run)
        report = validate_batch(
            batch,
            dataset,
            normalizer,
            config.validation,
            reference,
            labels_required,
        )
        mlflow.log_metric("rows", report.rows)
        status = log_validation(report, data)
        click.echo(f"validate: {status} on {report.rows:,} rows: {report.summary()}")
        if report.failures:
            raise ValidationFailed(f"the batch failed validation: {report.summary()}")


if __name__ == "__main__":
    main()

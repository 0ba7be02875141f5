"""The loop around the pipeline as MLflow runs: validate, monitor and retrain a new batch."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient

from toxic_mlops.config import Config
from toxic_mlops.contract import (
    COMBINED_ARTIFACT,
    MONITOR_LENGTHS_ARTIFACT,
    MONITOR_MODEL_TAG,
    MONITOR_REPORT_ARTIFACT,
    MONITOR_SCORES_ARTIFACT,
    MONITOR_VERDICT_TAG,
    NEW_DATA_SHA256_TAG,
    NEW_DATA_TAG,
    REFERENCE_PREPROCESS_RUN_TAG,
    REGISTRY_TAG_PREFIX,
    RETRAIN_TAG_PREFIX,
    VALIDATION_REFERENCE_TAG,
)
from toxic_mlops.data.dataset import SchemaError, as_text_frame, combine, schema_problems
from toxic_mlops.errors import PipelineError
from toxic_mlops.mlflow_io.chain import StepRunner, train_to_registry
from toxic_mlops.mlflow_io.data_steps import data_tags, log_validation
from toxic_mlops.mlflow_io.inputs import load_scorer, read_batch, reference_splits
from toxic_mlops.mlflow_io.lineage import ModelReference, model_reference
from toxic_mlops.mlflow_io.logs import log_figures, log_report, say
from toxic_mlops.mlflow_io.runs import step_run
from toxic_mlops.monitoring.monitoring import MonitorReport, monitor_batch, monitor_figures
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


def validate_step(config: Config, data: str, model: str, require_labels: bool) -> ValidationReport:
    """Check a batch against the schema and the reference model's training data."""
    with step_run("validate"), tempfile.TemporaryDirectory() as tmp:
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


@dataclass(frozen=True)
class Monitored:
    report: MonitorReport
    reference: ModelReference

    def summary(self) -> str:
        version = self.reference.version
        flagged = [f"{c.name} {c.value:.3f}" for c in self.report.checks if c.status != "ok"]
        return (
            f"{self.report.verdict} ({self.report.rows:,} comments vs {version.name} "
            f"version {version.version})" + (f": {', '.join(flagged)}" if flagged else "")
        )


def monitor_step(config: Config, data: str, model: str) -> Monitored:
    """Drift of a batch against the data the model (default: Production) learnt from."""
    dataset = config.dataset
    with step_run("monitor"), tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        reference = model_reference(MlflowClient(), model or config.registry.production_uri())
        frame, files = read_batch(data, dataset, work)
        if problems := schema_problems(frame, dataset, require_labels=False):
            raise SchemaError(f"the batch cannot be monitored: {'; '.join(problems)}")
        splits = reference_splits(reference.preprocess_run, work)
        metrics = reference.train_run.data.metrics
        logged_auc = {
            label: metrics.get(f"test_roc_auc_{label}", float("nan"))
            for label in dataset.label_columns
        }
        version = reference.version
        scored = f"{version.name}/{version.version}"
        report = monitor_batch(
            as_text_frame(frame, dataset),
            splits["train"],
            splits["test"],
            load_scorer(f"models:/{scored}"),
            logged_auc,
            dataset.positive_threshold,
            config.monitor,
        )
        tags = {MONITOR_VERDICT_TAG: report.verdict, MONITOR_MODEL_TAG: scored}
        mlflow.set_tags({**tags, **data_tags([data], files)})
        mlflow.log_metrics({"rows": report.rows, **report.metrics()})
        title = f"Drift report: {data} vs {version.name} version {version.version}"
        log_report(report, title, MONITOR_REPORT_ARTIFACT)
        scores, lengths = monitor_figures(report, dataset.label_columns)
        log_figures({MONITOR_SCORES_ARTIFACT: scores, MONITOR_LENGTHS_ARTIFACT: lengths})
    return Monitored(report, reference)


def retrain_step(
    config: Config,
    config_path: str,
    new_data: str,
    forced: bool,
    model_name: str,
    train_overrides: Mapping[str, str],
) -> str:
    """validate -> monitor -> (drift, degraded or forced) the chain on reference + new rows."""
    name = model_name or config.registry.model_name
    production = config.registry.production_uri(name)
    base = {"config": config_path, "data": new_data, "model": production}
    with step_run("retrain") as parent, tempfile.TemporaryDirectory() as tmp:
        # Always fresh (no cache): the data is new.
        runner = StepRunner(parent.info.experiment_id, parent.info.run_id, False, "retrain")
        reference = model_reference(MlflowClient(), production)
        runner.run("validate", {**base, "require_labels": "true"})
        monitor = runner.run("monitor", base)
        verdict = MlflowClient().get_run(monitor).data.tags[MONITOR_VERDICT_TAG]
        mlflow.set_tag(RETRAIN_TAG_PREFIX + "verdict", verdict)
        if verdict == "ok" and not forced:
            mlflow.set_tag(RETRAIN_TAG_PREFIX + "decision", "skipped")
            return "monitoring says ok; Production left as it is (force=true to retrain)"
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

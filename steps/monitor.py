"""monitor: compare a new batch of comments with the data the Production model learnt from.

Covariate shift (tokens, unseen words, lengths), prediction drift (Production's scores) and, when
the batch has labels, concept drift (label rates, ROC-AUC against the logged test AUC). Logs
monitor/report.{md,json} and plots, tags `monitor.verdict` (ok / drift / degraded) and prints it.

Exit code: 0, unless --fail-on names a verdict this batch reaches: then 3 (drift) or 4 (degraded),
for schedulers (`mlflow run` itself turns any failure into 1).
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import click
import mlflow
from mlflow.tracking import MlflowClient

from toxic_mlops.cli import recorded_config_option, user_errors
from toxic_mlops.config import ConfigError, RegistryConfig, load_config
from toxic_mlops.contract import (
    MONITOR_LENGTHS_ARTIFACT,
    MONITOR_MODEL_TAG,
    MONITOR_REPORT_ARTIFACT,
    MONITOR_SCORES_ARTIFACT,
    MONITOR_VERDICT_TAG,
)
from toxic_mlops.data.dataset import SchemaError, as_text_frame, schema_problems
from toxic_mlops.mlflow_io.configs import model_config
from toxic_mlops.mlflow_io.inputs import load_scorer, read_batch, reference_splits
from toxic_mlops.mlflow_io.lineage import ModelReference, model_reference
from toxic_mlops.mlflow_io.logs import data_tags, log_figures, log_report
from toxic_mlops.mlflow_io.runs import step_run
from toxic_mlops.monitoring.monitoring import (
    EXIT_CODES,
    SEVERITY,
    MonitorReport,
    monitor_batch,
    monitor_figures,
)

FAIL_ON = ("none", "drift", "degraded")


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


def monitor_step(config_path: str, data: str, model: str) -> Monitored:
    """Drift of a batch against the data the model (default: Production) learnt from.

    No config_path: the model's."""
    with step_run("monitor"), tempfile.TemporaryDirectory() as tmp:
        model_uri = model or RegistryConfig().production_uri()
        config = load_config(model_config("monitor", model_uri, config_path))
        dataset = config.dataset
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


@click.command()
@recorded_config_option
@click.option("--data", required=True, help="Path, URL, hf:// or artifact URI of the batch.")
@click.option("--model", default="", help="Model to monitor; empty = the registry's Production.")
@click.option("--fail-on", default="none", help="none, drift or degraded: exit non-zero from it.")
@user_errors
def main(config_path: str, data: str, model: str, fail_on: str) -> None:
    if fail_on not in FAIL_ON:
        raise ConfigError(f"fail_on must be one of {', '.join(FAIL_ON)}, got {fail_on!r}")
    monitored = monitor_step(config_path, data, model)
    click.echo(f"monitor: {monitored.summary()}")
    verdict = monitored.report.verdict
    if fail_on != "none" and SEVERITY[verdict] >= SEVERITY[fail_on]:
        sys.exit(EXIT_CODES[verdict])


if __name__ == "__main__":
    main()

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
from pathlib import Path

import click
import matplotlib.pyplot as plt
import mlflow
from mlflow.tracking import MlflowClient

from steps.common import DEFAULT_CONFIG, step_run, user_errors
from toxic_mlops.config import ConfigError, load_config
from toxic_mlops.data.dataset import SchemaError, schema_problems
from toxic_mlops.mlflow_io.inputs import as_text_frame, load_scorer, read_batch, reference_splits
from toxic_mlops.mlflow_io.lineage import model_reference
from toxic_mlops.monitoring.monitoring import EXIT_CODES, SEVERITY, monitor_batch
from toxic_mlops.plots import shift_histograms

VERDICT_TAG = "monitor.verdict"
FAIL_ON = ("none", "drift", "degraded")


@click.command()
@click.option("--config", "config_path", default=DEFAULT_CONFIG, show_default=True)
@click.option("--data", required=True, help="Path, URL, hf:// or artifact URI of the batch.")
@click.option("--model", default="", help="Model to monitor; empty = the registry's Production.")
@click.option("--fail-on", default="none", help="none, drift or degraded: exit non-zero from it.")
@user_errors
def main(config_path: str, data: str, model: str, fail_on: str) -> None:
    if fail_on not in FAIL_ON:
        raise ConfigError(f"fail_on must be one of {', '.join(FAIL_ON)}, got {fail_on!r}")
    config = load_config(config_path)
    dataset = config.dataset
    model_uri = model or config.registry.production_uri()
    with step_run("monitor"), tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        reference = model_reference(MlflowClient(), model_uri)
        frame, files = read_batch(data, dataset, work)
        if problems := schema_problems(frame, dataset, require_labels=False):
            raise SchemaError(f"the batch cannot be monitored: {'; '.join(problems)}")
        splits = reference_splits(reference.preprocess_run, work)
        metrics = reference.train_run.data.metrics
        logged_auc = {
            label: metrics.get(f"test_roc_auc_{label}", float("nan"))
            for label in dataset.label_columns
        }
        report = monitor_batch(
            as_text_frame(frame, dataset),
            splits["train"],
            splits["test"],
            load_scorer(f"models:/{reference.version.name}/{reference.version.version}"),
            logged_auc,
            dataset.positive_threshold,
            config.monitor,
        )
        version = reference.version
        mlflow.set_tags(
            {
                VERDICT_TAG: report.verdict,
                "monitor.model": f"{version.name}/{version.version}",
                "data.sources": data,
                "data.sha256": ",".join(f.sha256 for f in files),
            }
        )
        mlflow.log_metrics({"rows": report.rows, **report.metrics()})
        title = f"Drift report: {data} vs {version.name} version {version.version}"
        mlflow.log_text(report.to_markdown(title), "monitor/report.md")
        mlflow.log_dict(report.to_dict(), "monitor/report.json")
        labels = dataset.label_columns
        mlflow.log_figure(
            shift_histograms(report.reference_scores, report.batch_scores, labels, "score"),
            "monitor/scores.png",
        )
        mlflow.log_figure(
            shift_histograms(
                report.reference_lengths, report.batch_lengths, ["comment length"], "words"
            ),
            "monitor/lengths.png",
        )
        plt.close("all")
        flagged = [f"{f.name} {f.value:.3f}" for f in report.checks if f.status != "ok"]
        click.echo(
            f"monitor: {report.verdict} ({report.rows:,} comments vs {version.name} "
            f"version {version.version})" + (f": {', '.join(flagged)}" if flagged else "")
        )
    if fail_on != "none" and SEVERITY[report.verdict] >= SEVERITY[fail_on]:
        sys.exit(EXIT_CODES[report.verdict])


if __name__ == "__main__":
    main()

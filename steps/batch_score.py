"""batch_score: score a stored table of comments on Spark and write parquet, one column per label.

Logs rows in / scored / bad (per status), seconds and comments/s as metrics, and a histogram of
each label's scores. See docs/batch-and-proxy.md for what Spark needs and how bad rows are kept.
"""

from __future__ import annotations

import os

import click
import matplotlib.pyplot as plt
import mlflow

from toxic_mlops.cli import recorded_config_option, user_errors
from toxic_mlops.config import RegistryConfig, load_config
from toxic_mlops.contract import BATCH_HISTOGRAM_ARTIFACT, BATCH_SUMMARY_ARTIFACT
from toxic_mlops.mlflow_io.configs import model_config
from toxic_mlops.mlflow_io.runs import step_run
from toxic_mlops.plots import label_histograms
from toxic_mlops.serving.batch_scoring import (
    BatchResult,
    score_batch,
    spark_session,
    threads_per_task,
)


def batch_score_step(
    config_path: str, data: str, output: str, model: str, master: str
) -> tuple[BatchResult, str]:
    """Scores `data` with `model` (default: Production) on `master` (default: SPARK_MASTER or the
    config's), logs counts and histograms; (result, master). No config_path: the model's."""
    with step_run("batch_score"):
        model_uri = model or RegistryConfig().production_uri()
        config = load_config(model_config("batch_score", model_uri, config_path))
        model_uri = model or config.registry.production_uri()
        master = master or os.environ.get("SPARK_MASTER") or config.batch.master
        threads = threads_per_task(config.serving.num_threads)
        mlflow.log_params(
            {"model": model_uri, "data": data, "output": output, "spark.master": master}
            | {"threads_per_task": threads, "arrow_batch_rows": config.batch.arrow_batch_rows}
        )
        spark = spark_session(config.batch, master, threads)
        try:
            result = score_batch(
                spark, data, output, model_uri, config.dataset, config.batch, threads
            )
        finally:
            spark.stop()
        mlflow.log_metrics(result.metrics())
        mlflow.log_dict({"output": str(result.output), **result.metrics()}, BATCH_SUMMARY_ARTIFACT)
        mlflow.log_figure(label_histograms(result.scores, result.labels), BATCH_HISTOGRAM_ARTIFACT)
        plt.close("all")
    return result, master


@click.command()
@recorded_config_option
@click.option("--data", required=True, help="CSV / parquet: a path, URL, s3:// (with s3fs).")
@click.option("--output", required=True, help="Local path of the parquet folder to write.")
@click.option("--model", default="", help="Model URI; empty = the registry's Production.")
@click.option("--master", default="", help="spark.master; empty = SPARK_MASTER or the config.")
@user_errors
def main(config_path: str, data: str, output: str, model: str, master: str) -> None:
    result, master = batch_score_step(config_path, data, output, model, master)
    click.echo(
        f"batch_score: {result.rows_in:,} rows -> {result.output}: {result.rows_scored:,} scored, "
        f"{result.rows_bad:,} bad (null or not text), "
        f"{result.metrics()['comments_per_s']:,.0f} comments/s on {master}"
    )


if __name__ == "__main__":
    main()

"""batch_score: score a stored table of comments on Spark and write parquet, one column per label.

Logs rows in / scored / bad (per status), seconds and comments/s as metrics, and a histogram of
each label's scores. See docs/batch-and-proxy.md for what Spark needs and how bad rows are kept.
"""

from __future__ import annotations

import os

import click
import matplotlib.pyplot as plt
import mlflow

from steps.common import DEFAULT_CONFIG, step_run, user_errors
from toxic_mlops.batch_scoring import (
    batch_config,
    default_model_uri,
    score_batch,
    spark_session,
    threads_per_task,
)
from toxic_mlops.config import dataset_config, load_config
from toxic_mlops.plots import label_histograms
from toxic_mlops.tracking import BATCH_HISTOGRAM_ARTIFACT, BATCH_SUMMARY_ARTIFACT


@click.command()
@click.option("--config", "config_path", default=DEFAULT_CONFIG, show_default=True)
@click.option("--data", required=True, help="CSV / parquet: a path, URL, s3:// (with s3fs).")
@click.option("--output", required=True, help="Local path of the parquet folder to write.")
@click.option("--model", default="", help="Model URI; empty = the registry's Production.")
@click.option("--master", default="", help="spark.master; empty = SPARK_MASTER or the config.")
@user_errors
def main(config_path: str, data: str, output: str, model: str, master: str) -> None:
    config = load_config(config_path)
    batch = batch_config(config)
    master = master or os.environ.get("SPARK_MASTER") or batch.master
    threads = threads_per_task(int(config.get("serving", {}).get("num_threads", 0)))
    model_uri = default_model_uri(config, model)
    with step_run("batch_score"):
        mlflow.log_params(
            {"model": model_uri, "data": data, "output": output, "spark.master": master}
            | {"threads_per_task": threads, "arrow_batch_rows": batch.arrow_batch_rows}
        )
        spark = spark_session(batch, master, threads)
        try:
            result = score_batch(
                spark, data, output, model_uri, dataset_config(config), batch, threads
            )
        finally:
            spark.stop()
        metrics = result.metrics()
        mlflow.log_metrics(metrics)
        mlflow.log_dict({"output": str(result.output), **metrics}, BATCH_SUMMARY_ARTIFACT)
        mlflow.log_figure(label_histograms(result.scores, result.labels), BATCH_HISTOGRAM_ARTIFACT)
        plt.close("all")
    click.echo(
        f"batch_score: {result.rows_in:,} rows -> {result.output}: {result.rows_scored:,} scored, "
        f"{result.rows_bad:,} bad (null or not text), "
        f"{metrics['comments_per_s']:,.0f} comments/s on {master}"
    )


if __name__ == "__main__":
    main()

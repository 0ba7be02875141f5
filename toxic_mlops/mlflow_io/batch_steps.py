"""The batch_score step as a run: score a stored table on Spark and log what came out."""

from __future__ import annotations

import matplotlib.pyplot as plt
import mlflow

from toxic_mlops.config import Config
from toxic_mlops.contract import BATCH_HISTOGRAM_ARTIFACT, BATCH_SUMMARY_ARTIFACT
from toxic_mlops.mlflow_io.batch_scoring import (
    BatchResult,
    score_batch,
    spark_session,
    threads_per_task,
)
from toxic_mlops.mlflow_io.runs import step_run
from toxic_mlops.plots import label_histograms


def batch_score_step(
    config: Config, data: str, output: str, model: str, master: str
) -> BatchResult:
    """Scores `data` with `model` (default: Production) on `master`, logs counts and histograms."""
    threads = threads_per_task(config.serving.num_threads)
    model_uri = model or config.registry.production_uri()
    with step_run("batch_score"):
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
    return result

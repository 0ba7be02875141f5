"""Benchmark: comments/s of Spark batch scoring (spark_udf, local[2]) vs in-process `predict`.

    MLFLOW_TRACKING_URI=sqlite:///mlflow.db \
        .venv/bin/python -m bench.perf.batch_score --model models:/toxic/Production [--rows 20000]

The same real comments (../shared/data/civil_toxic_spans_posts.csv, column comment_text, sampled
with replacement to --rows) go through both, in pairs: in-process `model.predict` on all rows at
once (torch on every core), then Spark on local[2] scoring the same rows with the batch_score
code (two tasks of serving.num_threads, i.e. 1, torch thread each, Arrow batches, the model loaded
once per Python worker), forced by a no-op write. A warm-up run of each comes first (Spark: the
workers start and load the model). Prints the machine, each pair and the median ratio.
"""

from __future__ import annotations

import statistics
import time

import mlflow
import numpy as np
import pandas as pd

from bench.cli import bench_parser
from bench.common import Summary, figure, record
from bench.data import load_texts
from toxic_mlops.config import BatchConfig
from toxic_mlops.serving.batch_scoring import (
    STATUS,
    model_labels,
    scored_frame,
    spark_session,
    threads_per_task,
)


def main() -> None:
    parser = bench_parser(__doc__, model_uri=True)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--serving-threads", type=int, default=0, help="serving.num_threads")
    args = parser.parse_args()

    texts, source = load_texts(args.rows)
    table = pd.DataFrame({"id": np.arange(len(texts)), "text": texts})
    threads = threads_per_task(args.serving_threads)

    model = mlflow.pyfunc.load_model(args.model_uri)
    spark = spark_session(BatchConfig(), args.master, threads)
    try:
        from pyspark.sql import functions as F

        slots = max(1, spark.sparkContext.defaultParallelism // threads)
        frame = spark.createDataFrame(table).repartition(slots)
        frame = frame.withColumn(STATUS, F.lit(None).cast("string")).cache()
        frame.count()  # the input in memory, as the in-process side has it
        scored = scored_frame(spark, frame, args.model_uri, model_labels(args.model_uri), threads)
        ratios, pairs = [], []
        for pair in range(args.pairs + 1):
            started = time.perf_counter()
            model.predict(table[["text"]])
            in_process = time.perf_counter() - started
            started = time.perf_counter()
            scored.write.format("noop").mode("overwrite").save()
            on_spark = time.perf_counter() - started
            rates = {"in_process": len(table) / in_process, "spark": len(table) / on_spark}
            print(f"{'warm-up' if pair == 0 else f'pair {pair}'}: {rates}")
            if pair:  # the first pair warms up Spark's workers and the model
                ratios.append(in_process / on_spark)
                pairs.append(rates)
        report = {
            "model": args.model_uri,
            "master": args.master,
            "comments": len(table),
            "source": source,
            "threads_per_task": threads,
            "pairs_comments_per_s": pairs,
            "median_ratio_spark_over_in_process": statistics.median(ratios),
        }
        record("batch_score", report)
    finally:
        spark.stop()


def summarize(report: dict) -> Summary:
    """comments/s in-process and on Spark per pair, and the median ratio."""
    rows = [
        (f"pair {i}", pair["in_process"], pair["spark"], pair["spark"] / pair["in_process"])
        for i, pair in enumerate(report["pairs_comments_per_s"], start=1)
    ]
    sentence = (
        f"Spark {report['master']} with {report['threads_per_task']} torch thread per task scores "
        f"{report['comments']:,} comments at "
        f"{figure(report['median_ratio_spark_over_in_process'])} times the in-process rate "
        "(median of the pairs; the target is at least 0.8)."
    )
    return Summary(sentence, ("run", "in-process comments/s", "Spark comments/s", "ratio"), rows)


if __name__ == "__main__":
    main()

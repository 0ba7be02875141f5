"""Benchmark: comments/s of Spark batch scoring (spark_udf, local[2]) vs in-process `predict`.

    MLFLOW_TRACKING_URI=sqlite:////tmp/batchbench/mlflow.db \
        .venv/bin/python bench/batch_score.py --model models:/toxic-wiki/1 [--rows 20000]

The same real comments (../shared/data/civil_toxic_spans_posts.csv, column comment_text, sampled
with replacement to --rows) go through both, in pairs: in-process `model.predict` on all rows at
once (torch on every core), then Spark on local[2] scoring the same rows with the batch_score
code (two tasks of serving.num_threads, i.e. 1, torch thread each, Arrow batches, the model loaded
once per Python worker), forced by a no-op write. A warm-up run of each comes first (Spark: the
workers start and load the model). Prints the machine, each pair and the median ratio.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from toxic_mlops.batch_scoring import (  # noqa: E402
    STATUS,
    BatchConfig,
    model_labels,
    scored_frame,
    spark_session,
    threads_per_task,
)

DATA = ROOT.parent / "shared" / "data" / "civil_toxic_spans_posts.csv"


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return f"{platform.machine()}, {os.cpu_count()} cores, {cpu}"


def comments(path: Path, rows: int, seed: int = 0) -> pd.DataFrame:
    texts = pd.read_csv(path)["comment_text"].dropna().astype(str)
    sample = texts.sample(n=rows, replace=rows > len(texts), random_state=seed)
    return pd.DataFrame({"id": np.arange(rows), "text": sample.to_numpy()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", type=Path, default=DATA, help="CSV with comment_text")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--serving-threads", type=int, default=0, help="serving.num_threads")
    args = parser.parse_args()

    table = comments(args.data, args.rows)
    threads = threads_per_task(args.serving_threads)
    print(f"machine: {machine()}\ncommand: {' '.join(sys.argv)}")
    print(
        f"{len(table):,} comments from {args.data.name}, "
        f"median {table.text.str.len().median():.0f} characters"
    )

    model = mlflow.pyfunc.load_model(args.model)
    spark = spark_session(BatchConfig(), args.master, threads)
    try:
        from pyspark.sql import functions as F

        slots = max(1, spark.sparkContext.defaultParallelism // threads)
        frame = spark.createDataFrame(table).repartition(slots)
        frame = frame.withColumn(STATUS, F.lit(None).cast("string")).cache()
        frame.count()  # the input in memory, as the in-process side has it
        scored = scored_frame(spark, frame, args.model, model_labels(args.model), threads)
        ratios = []
        for pair in range(args.pairs + 1):
            started = time.perf_counter()
            model.predict(table[["text"]])
            in_process = time.perf_counter() - started
            started = time.perf_counter()
            scored.write.format("noop").mode("overwrite").save()
            on_spark = time.perf_counter() - started
            label = "warm-up" if pair == 0 else f"pair {pair}"
            print(
                f"{label}: in-process {len(table) / in_process:,.0f} comments/s "
                f"({in_process:.1f} s), "
                f"spark {len(table) / on_spark:,.0f} comments/s ({on_spark:.1f} s), "
                f"ratio {in_process / on_spark:.2f}"
            )
            if pair:
                ratios.append(in_process / on_spark)
        print(
            f"median ratio spark / in-process over {args.pairs} pairs: "
            f"{statistics.median(ratios):.2f}"
        )
    finally:
        spark.stop()


if __name__ == "__main__":
    main()

"""Score a stored table of comments with the registered model on Spark (mlflow spark_udf).

The model runs in Spark's Python workers through `mlflow.pyfunc.spark_udf(env_manager="local")`:
loaded once per worker, fed Arrow batches. Each task gets `threads` torch threads and Spark runs
at most cores / threads tasks at once (spark.task.cpus), so tasks x threads <= cores.

Bad rows are kept, never scored and never fatal: every output row has a `status`
(`ok`, `empty`: scored as the model scores it; `null`, `not_string`: scores null).
The output is written to a temporary folder next to the target and renamed into place only when
complete, so a failed job leaves the previous output (or nothing), never a partial one.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import fsspec
import mlflow
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from pyfunc.model import NUM_THREADS_KEY
from toxic_mlops.config import BatchConfig, DatasetConfig
from toxic_mlops.data.download import default_cache_dir, load_sources, read_table
from toxic_mlops.errors import PipelineError
from toxic_mlops.spark import spark_session as started_session

STATUS = "status"
ROW_ID = "row_id"  # added when the table has no id column: unique and increasing, not contiguous
SCORED = ("ok", "empty")
BAD = ("null", "not_string")
# Read by Spark itself (scales to any size, many files); everything else goes through pandas.
SPARK_NATIVE_SUFFIXES = (".parquet", ".pq")
# The project's own reader already fetches these (with cache and retries); others use fsspec.
DOWNLOAD_SCHEMES = {"", "file", "http", "https", "hf"}


class BatchError(PipelineError):
    """The batch cannot be scored (input, output or model); the message says which and why."""


@dataclass(frozen=True)
class BatchResult:
    output: Path
    labels: list[str]
    rows_in: int
    status_counts: dict[str, int]
    seconds: float
    scores: np.ndarray  # [scored rows, labels], read back from the output for the histograms

    @property
    def rows_scored(self) -> int:
        return sum(self.status_counts.get(s, 0) for s in SCORED)

    @property
    def rows_bad(self) -> int:
        return sum(self.status_counts.get(s, 0) for s in BAD)

    def metrics(self) -> dict[str, float]:
        return {
            "rows_in": self.rows_in,
            "rows_scored": self.rows_scored,
            "rows_bad": self.rows_bad,
            **{f"rows_{s}": self.status_counts.get(s, 0) for s in (*SCORED, *BAD)},
            "seconds": self.seconds,
            "comments_per_s": self.rows_scored / self.seconds if self.seconds else 0.0,
        }


def threads_per_task(serving_threads: int) -> int:
    """serving.num_threads when set; else 1, so every core runs its own Spark task."""
    return serving_threads if serving_threads > 0 else 1


def spark_session(batch: BatchConfig, master: str, threads: int) -> Any:
    """A Spark session whose Python workers run this interpreter (the project's venv)."""
    settings = {
        "spark.task.cpus": str(threads),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.execution.arrow.maxRecordsPerBatch": str(batch.arrow_batch_rows),
        "spark.python.worker.reuse": "true",
        **batch.spark_conf,
    }
    return started_session(master, "toxic-mlops batch_score", batch.driver_host, batch.ui, settings)


def _read_pandas(source: str, workdir: Path) -> pd.DataFrame:
    """A table through the project's reader, or for other URLs (s3://, gs://) through fsspec."""
    if urlparse(source).scheme in DOWNLOAD_SCHEMES or len(urlparse(source).scheme) == 1:
        return load_sources([source], [], default_cache_dir())[0]
    local = workdir / (Path(urlparse(source).path).name or "batch")
    try:
        with fsspec.open(source, "rb") as remote, local.open("wb") as out:
            shutil.copyfileobj(remote, out)
    except (ImportError, ValueError) as error:  # no filesystem installed for that scheme
        raise BatchError(f"{source}: cannot open: {error}") from error
    except OSError as error:
        raise BatchError(f"{source}: cannot read: {error}") from error
    return read_table(local, source)


def _pandas_text_status(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(text as string or null, `not_string` where the value was something else)."""
    is_string = values.map(lambda value: isinstance(value, str)).astype(bool)
    not_string = ~is_string & values.notna()
    text = values.where(~not_string, values.astype(str)).where(is_string | not_string, None)
    return text.astype(object), pd.Series(np.where(not_string, "not_string", None), dtype=object)


def read_comments(
    spark: Any, source: str, dataset: DatasetConfig, id_column: str, workdir: Path
) -> Any:
    """A Spark DataFrame of (id, text, status); status is `not_string` or still to be decided."""
    from pyspark.sql import functions as F

    text_column = dataset.text_column
    if Path(source).suffix in SPARK_NATIVE_SUFFIXES and Path(source).exists():
        frame = spark.read.parquet(str(Path(source).resolve()))
        frame = frame.withColumn(STATUS, F.lit(None).cast("string"))
    else:
        table = _read_pandas(source, workdir)
        # Only the renames of standardize(): its label mapping would drop unlabelled rows.
        table = table.rename(
            columns={a: c for a, c in dataset.column_aliases.items() if c not in table.columns}
        )
        if text_column not in table.columns:
            raise BatchError(f"{source}: no column {text_column!r}; got {list(table.columns)}")
        text, status = _pandas_text_status(table[text_column])
        keep = [id_column] if id_column in table.columns else []
        table = table[keep].assign(**{text_column: text, STATUS: status})
        frame = spark.createDataFrame(table, schema=_pandas_schema(table, id_column))
    if text_column not in frame.columns:
        raise BatchError(f"{source}: no column {text_column!r}; got {frame.columns}")
    if dict(frame.dtypes)[text_column] != "string":  # e.g. numbers: kept as text, not scored
        frame = frame.withColumn(
            STATUS, F.when(F.col(text_column).isNotNull(), F.lit("not_string"))
        ).withColumn(text_column, F.col(text_column).cast("string"))
    if id_column not in frame.columns:
        id_column = ROW_ID
        frame = frame.withColumn(ROW_ID, F.monotonically_increasing_id())
    return frame.select(id_column, text_column, STATUS)


def _pandas_schema(table: pd.DataFrame, id_column: str) -> Any:
    """Strings, except an integer id; any other id is converted to its string form."""
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    fields = []
    for name in table.columns:
        integer_id = name == id_column and pd.api.types.is_integer_dtype(table[name])
        if name == id_column and not integer_id:
            table[name] = table[name].astype("string")
        fields.append(StructField(name, LongType() if integer_id else StringType()))
    return StructType(fields)


def model_labels(model_uri: str) -> list[str]:
    """The label columns the model answers with, from its logged output signature."""
    signature = mlflow.models.get_model_info(model_uri).signature
    if signature is None or signature.outputs is None:
        raise BatchError(f"{model_uri}: the model has no output signature to name its labels")
    return signature.outputs.input_names()


def scored_frame(spark: Any, comments: Any, model_uri: str, labels: list[str], threads: int) -> Any:
    """comments + status + one float column per label (null for rows that are not text)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import FloatType, StructField, StructType

    predict = mlflow.pyfunc.spark_udf(
        spark,
        model_uri,
        result_type=StructType([StructField(label, FloatType()) for label in labels]),
        env_manager="local",
        model_config={NUM_THREADS_KEY: threads},
        # torch reads these when the worker loads it; the tokenizer's thread pool too.
        extra_env={"OMP_NUM_THREADS": str(threads), "RAYON_NUM_THREADS": str(threads)},
    )
    id_column, text_column = comments.columns[0], comments.columns[1]
    text = F.col(text_column)
    blank = F.length(F.regexp_replace(text, r"\s", "")) == 0
    status = F.coalesce(
        F.col(STATUS),
        F.when(text.isNull(), "null").when(blank, "empty").otherwise("ok"),
    )
    comments = comments.withColumn(STATUS, status)
    scorable = F.col(STATUS).isin(*SCORED)
    # The UDF runs on every row of its batch; non-text rows get "" and their scores are dropped.
    with_scores = comments.withColumn(
        "_scores", predict(F.when(scorable, text).otherwise(F.lit("")))
    )
    return with_scores.select(
        id_column,
        text_column,
        STATUS,
        *[F.when(scorable, F.col("_scores")[label]).alias(label) for label in labels],
    )


def write_atomically(frame: Any, output: Path) -> None:
    """Parquet folder at output, complete or not at all (an old one is replaced only on success)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = output.with_name(f".{output.name}.tmp-{uuid.uuid4().hex[:8]}")
    retired = output.with_name(f".{output.name}.old-{uuid.uuid4().hex[:8]}")
    try:
        frame.write.parquet(str(staging))
        if output.exists():
            output.rename(retired)
        staging.rename(output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(retired, ignore_errors=True)


def local_output(output: str) -> Path:
    if not output:
        raise BatchError("no output given: pass -P output=<local path for the parquet folder>")
    if len(urlparse(output).scheme) > 1:
        raise BatchError(f"{output}: the output must be a local path (a shared one on a cluster)")
    return Path(output).resolve()


def read_result(output: Path, labels: list[str]) -> tuple[int, dict[str, int], np.ndarray]:
    """(rows, rows per status, scores of the scored rows) read back from the written output."""
    table = pq.read_table(output, columns=[STATUS, *labels]).to_pandas()
    counts = {str(k): int(v) for k, v in table[STATUS].value_counts().items()}
    scores = table.loc[table[STATUS].isin(SCORED), labels].to_numpy(dtype=np.float32)
    return len(table), counts, scores


def score_batch(
    spark: Any,
    source: str,
    output: str,
    model_uri: str,
    dataset: DatasetConfig,
    batch: BatchConfig,
    threads: int,
) -> BatchResult:
    """Read, score and write one table; the figures are those of the written output."""
    target = local_output(output)
    labels = model_labels(model_uri)
    with tempfile.TemporaryDirectory() as workdir:
        comments = read_comments(spark, source, dataset, batch.id_column, Path(workdir))
        slots = max(1, spark.sparkContext.defaultParallelism // threads)
        wanted = batch.partitions or slots
        if batch.partitions or comments.rdd.getNumPartitions() < wanted:
            comments = comments.repartition(wanted)
        frame = scored_frame(spark, comments, model_uri, labels, threads)
        started = time.perf_counter()
        write_atomically(frame, target)
        seconds = time.perf_counter() - started
    rows, counts, scores = read_result(target, labels)
    return BatchResult(target, labels, rows, counts, seconds, scores)

"""batch_score for real: a local[2] Spark session scores tables with the registered model.

One Spark session for the in-process tests (Spark starts slowly) and one real
`mlflow run . -e batch_score`, all against models:/toxic/Production of the e2e pipeline.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import fsspec
import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import Project, tiny_config
from tests.synthetic import LABELS, make_comments
from toxic_mlops.config import BatchConfig, build_config
from toxic_mlops.serving.batch_scoring import (
    read_comments,
    score_batch,
    spark_session,
    write_atomically,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        shutil.which("java") is None,
        reason="Spark needs a Java 17 runtime (Debian: apt-get install openjdk-17-jre-headless)",
    ),
]
MODEL = "models:/toxic/Production"
MAX_ROWS = tiny_config()["serving"]["max_rows"]
DATASET = build_config(tiny_config()).dataset


@pytest.fixture(scope="module")
def spark(project: Project, pipeline: dict[str, str]):
    mlflow.set_tracking_uri(project.env["MLFLOW_TRACKING_URI"])
    session = spark_session(BatchConfig(), "local[2]", threads=1)
    yield session
    session.stop()
    mlflow.set_tracking_uri(None)


def bad_rows_table(rows: int) -> pd.DataFrame:
    """Real-looking comments with a null, an empty and a whitespace-only text among them."""
    texts = make_comments(rows, seed=11)["text"].astype(object).tolist()[:rows]
    texts[1], texts[2], texts[3] = None, "", "  \n\t "
    return pd.DataFrame({"id": [f"c{i}" for i in range(rows)], "text": texts})


def test_bad_rows_are_kept_with_a_status_and_the_rest_scored_as_in_process(
    spark, tmp_path: Path
) -> None:
    table = bad_rows_table(3 * MAX_ROWS)  # more rows than one HTTP request may hold
    table.to_parquet(tmp_path / "comments.parquet", index=False)
    result = score_batch(
        spark,
        str(tmp_path / "comments.parquet"),
        str(tmp_path / "scores"),
        MODEL,
        DATASET,
        BatchConfig(),
        threads=1,
    )
    out = pd.read_parquet(tmp_path / "scores").set_index("id").loc[table["id"]]
    assert len(out) == result.rows_in == len(table)
    assert out.loc["c1", "status"] == "null" and out.loc[["c1"], LABELS].isna().all(axis=None)
    assert list(out.loc[["c2", "c3"], "status"]) == ["empty", "empty"]
    assert result.status_counts == {"ok": len(table) - 3, "empty": 2, "null": 1}
    assert (result.rows_scored, result.rows_bad) == (len(table) - 1, 1)

    scored = table[table["text"].notna()]
    expected = mlflow.pyfunc.load_model(MODEL).predict(scored[["text"]])
    actual = out.loc[scored["id"], LABELS].reset_index(drop=True)
    pd.testing.assert_frame_equal(actual, expected.astype("float32"), rtol=1e-4, atol=1e-6)


def test_a_column_of_numbers_is_kept_as_text_and_not_scored(spark, tmp_path: Path) -> None:
    pd.DataFrame({"text": [1, 2, None]}).to_parquet(tmp_path / "numbers.parquet")
    result = score_batch(
        spark,
        str(tmp_path / "numbers.parquet"),
        str(tmp_path / "scores"),
        MODEL,
        DATASET,
        BatchConfig(),
        threads=1,
    )
    assert result.status_counts == {"not_string": 2, "null": 1}
    out = pd.read_parquet(tmp_path / "scores")
    assert sorted(out["text"].dropna()) == ["1.0", "2.0"] and out[LABELS].isna().all(axis=None)
    assert "row_id" in out.columns  # no id column: one is added


def test_any_fsspec_url_is_read_through_fsspec(spark, tmp_path: Path) -> None:
    with fsspec.open("memory://bucket/comments.csv", "w") as handle:
        bad_rows_table(20).to_csv(handle, index=False)
    comments = read_comments(spark, "memory://bucket/comments.csv", DATASET, "id", tmp_path)
    assert comments.count() == 20 and comments.columns == ["id", "text", "status"]


def test_a_failed_write_leaves_the_previous_output_untouched(spark, tmp_path: Path) -> None:
    from pyspark.sql import functions as F

    target = tmp_path / "scores"
    write_atomically(spark.range(10).repartition(2), target)
    before = sorted(pd.read_parquet(target)["id"])
    # Tasks that pass write their part files before the failing one stops the job.
    failing = spark.range(100).repartition(4).select("id", F.assert_true(F.col("id") < 90))
    with pytest.raises(Exception, match="id < 90"):
        write_atomically(failing, target)
    assert sorted(pd.read_parquet(target)["id"]) == before
    assert [p.name for p in tmp_path.iterdir()] == ["scores"]  # no staging folder left behind


def test_mlflow_run_batch_score(project: Project, pipeline: dict[str, str]) -> None:
    data, output = project.workdir / "batch.csv", project.workdir / "batch-scores"
    table = bad_rows_table(2 * MAX_ROWS + 7)
    table.to_csv(data, index=False)
    run_id, printed = project.step(
        "batch_score",
        config=str(project.workdir / "tiny.yaml"),
        data=str(data),
        output=str(output),
        model=MODEL,
        master="local[2]",
    )
    rows = len(table)
    # In a CSV an empty field is a missing value: "" reads as null, like None.
    assert f"{rows:,} rows -> {output}: {rows - 2:,} scored, 2 bad" in printed
    out = pd.read_parquet(output)
    assert len(out) == rows and set(out.columns) == {"id", "text", "status", *LABELS}
    run = MlflowClient(project.env["MLFLOW_TRACKING_URI"]).get_run(run_id)
    metrics = run.data.metrics
    assert (metrics["rows_in"], metrics["rows_scored"], metrics["rows_bad"]) == (rows, rows - 2, 2)
    assert metrics["comments_per_s"] > 0 and run.data.params["spark.master"] == "local[2]"
    artifacts = {a.path for a in MlflowClient().list_artifacts(run_id, "plots")}
    assert artifacts == {"plots/batch_score_histograms.png"}

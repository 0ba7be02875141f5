"""The test split a train run was trained against, for benchmarks that rescore it."""

from __future__ import annotations

import tempfile

import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient

from toxic_mlops.mlflow_io.runs import PREPROCESS_RUN_TAG


def test_split(train_run: str) -> pd.DataFrame:
    preprocess_run = MlflowClient().get_run(train_run).data.tags.get(PREPROCESS_RUN_TAG)
    if not preprocess_run:
        raise SystemExit(
            f"train run {train_run} has no {PREPROCESS_RUN_TAG} tag (trained from a folder?)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        return pd.read_parquet(
            mlflow.artifacts.download_artifacts(
                run_id=preprocess_run, artifact_path="data/test.parquet", dst_path=tmp
            )
        )

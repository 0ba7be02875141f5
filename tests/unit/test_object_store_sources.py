"""Object-store sources: routing, endpoints from the environment, clear errors (no network)."""

from __future__ import annotations

import importlib.util

import pytest

from toxic_mlops.data.download import DownloadError, fetch, resolve_sources
from toxic_mlops.data.remote_files import storage_options
from toxic_mlops.errors import PipelineError


def test_mlflow_s3_endpoint_is_used_when_the_aws_one_is_not_set(monkeypatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "MLFLOW_S3_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    assert storage_options("s3") == {}
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", "http://127.0.0.1:9000")
    assert storage_options("s3") == {"client_kwargs": {"endpoint_url": "http://127.0.0.1:9000"}}
    assert storage_options("gs") == {}
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9001")  # botocore reads this one
    assert storage_options("s3") == {}


def test_hub_files_go_to_fsspec_and_hub_splits_to_the_listing_api() -> None:
    file_url = "hf://datasets/org/name/data/train.parquet"
    assert resolve_sources([file_url, "s3://bucket/a.csv"]) == [file_url, "s3://bucket/a.csv"]
    with pytest.raises(DownloadError, match="expected hf://<org>/<dataset>/<config>/<split>"):
        resolve_sources(["hf://org/name/config"])


def test_a_store_without_its_package_or_scheme_is_one_clear_error(tmp_path) -> None:
    if importlib.util.find_spec("gcsfs") is None:
        with pytest.raises(PipelineError, match="gs://bucket/x.csv: .*gcsfs"):
            fetch("gs://bucket/x.csv", tmp_path)
    with pytest.raises(DownloadError, match="unsupported scheme"):
        fetch("sftp://host/x.csv", tmp_path)

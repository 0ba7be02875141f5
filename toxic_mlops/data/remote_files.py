"""Sources in object stores (s3://, gs://, hf://datasets/..., any fsspec protocol), via fsspec.

S3 takes its endpoint and keys from the standard variables (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL, or MLflow's MLFLOW_S3_ENDPOINT_URL); other stores from
their own fsspec package's usual settings (gcsfs for gs://, huggingface_hub for hf://).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlparse

import fsspec
from fsspec.spec import AbstractFileSystem

from toxic_mlops.errors import PipelineError

S3_PROTOCOLS = {"s3", "s3a"}
# Object stores only: fsspec also speaks ftp://, ssh:// ... which are not data sources here.
OBJECT_STORE_PROTOCOLS = S3_PROTOCOLS | {"gs", "gcs", "hf", "az", "abfs"}


class ObjectStoreError(PipelineError):
    """The object could not be found or read; the message names it and says why."""


def storage_options(protocol: str) -> dict:
    """MLflow's S3 endpoint variable for s3fs too, when the AWS one is not set."""
    endpoint = os.environ.get("MLFLOW_S3_ENDPOINT_URL")
    aws_endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if protocol in S3_PROTOCOLS and endpoint and not aws_endpoint:
        return {"client_kwargs": {"endpoint_url": endpoint}}
    return {}


@dataclass(frozen=True)
class RemoteObject:
    fs: AbstractFileSystem
    path: str
    size: int | None
    version: str  # ETag or modification time: a changed object is fetched again

    def chunks(self, chunk_bytes: int) -> Iterator[bytes]:
        with self.fs.open(self.path, "rb") as handle:
            yield from iter(lambda: handle.read(chunk_bytes), b"")


def stat_object(source: str) -> RemoteObject:
    """The object behind source, checked to exist and be a file; nothing is read yet."""
    protocol = urlparse(source).scheme
    try:
        fs, path = fsspec.core.url_to_fs(source, **storage_options(protocol))
        info = fs.info(path)
    except ImportError as error:  # the protocol's package (gcsfs, ...) is not installed
        raise ObjectStoreError(f"{source}: {error}") from error
    except FileNotFoundError as error:
        raise ObjectStoreError(f"{source}: no such object") from error
    except Exception as error:  # noqa: BLE001 (each store's client raises its own errors)
        raise ObjectStoreError(f"{source}: {type(error).__name__}: {error}") from error
    if info.get("type") == "directory":
        raise ObjectStoreError(f"{source}: is a folder, not a file")
    version = info.get("ETag") or info.get("etag") or info.get("mtime") or info.get("size")
    return RemoteObject(fs, path, info.get("size"), str(version))

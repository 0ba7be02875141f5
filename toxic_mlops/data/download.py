"""Fetch raw data (local, file://, http(s)://, hf://, s3:// ...), verify, cache, read, sample it."""

from __future__ import annotations

import gzip
import hashlib
import os
import tarfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TypeVar
from urllib.parse import unquote, urlparse

import pandas as pd
import requests
from tqdm.auto import tqdm
from urllib3.exceptions import ProtocolError

from toxic_mlops.data.remote_files import OBJECT_STORE_PROTOCOLS, stat_object
from toxic_mlops.errors import PipelineError

CHUNK_BYTES = 1 << 20
RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}
DEFAULT_HF_ENDPOINT = "https://huggingface.co"
T = TypeVar("T")


class DownloadError(PipelineError):
    """The data could not be fetched or read; the message names the source and the reason."""


class ChecksumError(DownloadError):
    """The bytes fetched are not the ones the config pins."""


class _Transient(Exception):
    """A failure worth retrying (connection reset, 5xx, truncated body)."""


@dataclass(frozen=True)
class FetchedFile:
    source: str
    path: Path
    sha256: str


def default_cache_dir() -> Path:
    return Path(os.environ.get("TOXIC_MLOPS_CACHE", Path.home() / ".cache" / "toxic-mlops"))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _retrying(action: Callable[[], T], what: str, retries: int, backoff_seconds: float) -> T:
    for attempt in range(1, retries + 1):
        try:
            return action()
        except (requests.RequestException, ProtocolError, _Transient) as error:
            if attempt == retries:
                raise DownloadError(f"{what}: failed after {retries} attempts: {error}") from error
            wait = backoff_seconds * 2 ** (attempt - 1)
            tqdm.write(f"{what}: {error}; retrying in {wait:.1f}s ({attempt}/{retries})")
            time.sleep(wait)
    raise AssertionError("unreachable")


def _check_status(response: requests.Response, url: str) -> None:
    if response.status_code in RETRYABLE_STATUS:
        raise _Transient(f"HTTP {response.status_code}")
    if response.status_code >= 400:
        raise DownloadError(f"{url}: HTTP {response.status_code} {response.reason}")


def resolve_sources(
    sources: Sequence[str],
    hf_endpoint: str | None = None,
    retries: int = 3,
    backoff_seconds: float = 1.0,
) -> list[str]:
    """Expand hf://org/dataset/config/split into that split's parquet URLs; keep other sources."""
    endpoint = (hf_endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_HF_ENDPOINT).rstrip("/")
    resolved: list[str] = []
    for source in sources:
        # hf://datasets/<org>/<name>/<file> is a file, read through huggingface_hub's fsspec.
        if not source.startswith("hf://") or source.startswith("hf://datasets/"):
            resolved.append(source)
            continue
        parts = source[len("hf://") :].strip("/").split("/")
        if len(parts) != 4:
            raise DownloadError(f"{source}: expected hf://<org>/<dataset>/<config>/<split>")
        org, name, subset, split = parts
        api = f"{endpoint}/api/datasets/{org}/{name}/parquet/{subset}/{split}"

        def list_files(api: str = api) -> list[str]:
            with requests.get(api, timeout=60) as response:
                _check_status(response, api)
                urls = response.json()
            if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
                raise DownloadError(f"{api}: expected a non-empty JSON list of parquet URLs")
            return urls

        resolved.extend(_retrying(list_files, api, retries, backoff_seconds))
    return resolved


def _local_path(source: str) -> Path | None:
    parsed = urlparse(source)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if len(parsed.scheme) <= 1:  # a plain path, or a Windows drive letter
        return Path(source)
    return None


def _verify(actual: str, expected: str | None, source: str) -> None:
    if expected and actual.lower() != expected.lower():
        raise ChecksumError(f"{source}: sha256 is {actual}, the config pins {expected}")


def _save_chunks(
    chunks: Iterable[bytes], target: Path, label: str, expected_size: int | None
) -> str:
    """Write chunks into a private .part file, then rename: target is complete or absent."""
    partial = target.with_name(f"{target.name}.part-{os.getpid()}")
    try:
        digest = hashlib.sha256()
        written = 0
        with (
            partial.open("wb") as out,
            tqdm(
                total=expected_size,
                unit="B",
                unit_scale=True,
                desc=label,
                leave=False,
                disable=None,
            ) as bar,
        ):
            for chunk in chunks:
                out.write(chunk)
                digest.update(chunk)
                written += len(chunk)
                bar.update(len(chunk))
        if expected_size is not None and written != expected_size:
            raise _Transient(f"truncated body: {written} of {expected_size} bytes")
        os.replace(partial, target)
        return digest.hexdigest()
    finally:
        partial.unlink(missing_ok=True)


def _download(url: str, target: Path, label: str, timeout: float) -> str:
    with requests.get(url, stream=True, timeout=timeout) as response:
        _check_status(response, url)
        expected_size = int(response.headers.get("Content-Length") or 0) or None
        # Raw bytes as sent, so the size and digest are those of the file on the server.
        chunks = response.raw.stream(CHUNK_BYTES, decode_content=False)
        return _save_chunks(chunks, target, label, expected_size)


def _cache_target(cache_dir: Path, key: str, name: str) -> Path:
    cache_dir.mkdir(parents=True, exist_ok=True)
    return cache_dir / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}-{name or 'data'}"


def _kept_if_verified(
    source: str, target: Path, sha: str, expected_sha256: str | None
) -> FetchedFile:
    """The cached copy if its digest is the pinned one; otherwise it is deleted and it fails."""
    try:
        _verify(sha, expected_sha256, source)
    except ChecksumError:
        target.unlink(missing_ok=True)
        raise
    return FetchedFile(source, target, sha)


def _fetch_object(source: str, cache_dir: Path, expected_sha256: str | None) -> FetchedFile:
    """An object-store file (s3://, gs://, ...), cached by URL and the object's version."""
    remote = stat_object(source)
    name = PurePosixPath(remote.path).name
    target = _cache_target(cache_dir, f"{source}@{remote.version}", name)
    if not target.is_file():
        try:
            _save_chunks(remote.chunks(CHUNK_BYTES), target, name, remote.size)
        except (OSError, _Transient) as error:
            raise DownloadError(f"{source}: reading failed: {error}") from error
    return _kept_if_verified(source, target, file_sha256(target), expected_sha256)


def fetch(
    source: str,
    cache_dir: Path,
    expected_sha256: str | None = None,
    retries: int = 3,
    backoff_seconds: float = 1.0,
    timeout: float = 60.0,
) -> FetchedFile:
    """A verified local copy of source; http(s) files are cached by URL and reused when complete."""
    local = _local_path(source)
    if local is not None:
        if not local.is_file():
            raise DownloadError(f"{source}: no such file")
        sha = file_sha256(local)
        _verify(sha, expected_sha256, source)
        return FetchedFile(source, local, sha)

    scheme = urlparse(source).scheme
    if scheme in OBJECT_STORE_PROTOCOLS:
        return _fetch_object(source, cache_dir, expected_sha256)
    if scheme not in {"http", "https"}:
        raise DownloadError(
            f"{source}: unsupported scheme (use a path, file://, http(s)://, hf://, s3:// or gs://)"
        )
    name = Path(unquote(urlparse(source).path)).name or "data"
    target = _cache_target(cache_dir, source, name)
    if target.is_file():
        sha = file_sha256(target)
        if not expected_sha256 or sha == expected_sha256.lower():
            return FetchedFile(source, target, sha)
        target.unlink()  # a stale or corrupted copy: fetch it again

    sha = _retrying(
        lambda: _download(source, target, name, timeout), source, retries, backoff_seconds
    )
    return _kept_if_verified(source, target, sha, expected_sha256)


def read_text_archive(path: Path) -> pd.DataFrame:
    """A tar(.gz) of one text file per row, filed as <...>/<part>/<label>/<name>.txt.

    That is the layout of the Stanford IMDB archive (aclImdb/train/pos/0_9.txt): the folder a
    file is in becomes its `label`, the folder above it its `part`.
    """
    rows = []
    with tarfile.open(path, "r:*") as archive:
        for member in archive:
            parts = PurePosixPath(member.name).parts
            if not member.isfile() or not member.name.endswith(".txt") or len(parts) < 3:
                continue
            handle = archive.extractfile(member)
            if handle is None:
                continue
            text = handle.read().decode("utf-8", errors="replace")
            rows.append({"text": text, "label": parts[-2], "part": parts[-3]})
    return pd.DataFrame(rows, columns=["text", "label", "part"])


def read_table(path: Path, source: str | None = None) -> pd.DataFrame:
    """Read CSV, gzipped CSV, parquet or a tar of text files, recognised by content, not name."""
    with path.open("rb") as handle:
        magic = handle.read(4)
    try:
        if magic == b"PAR1":
            return pd.read_parquet(path)
        if tarfile.is_tarfile(path):
            return read_text_archive(path)
        if magic[:2] == b"\x1f\x8b":
            with gzip.open(path, "rb") as handle:
                return pd.read_csv(handle)
        return pd.read_csv(path)
    except Exception as error:  # pandas/pyarrow raise many types for a bad file
        raise DownloadError(
            f"{source or path}: not a readable CSV, CSV.gz or parquet file: {error}"
        ) from error


def stratified_sample(
    frame: pd.DataFrame, column: str, threshold: float, fraction: float, seed: int
) -> pd.DataFrame:
    """The same fraction of positives (column >= threshold) and of the rest, reproducibly."""
    if not 0 < fraction <= 1:
        raise ValueError(f"sample fraction must be in (0, 1], got {fraction}")
    if column not in frame.columns:
        raise DownloadError(
            f"cannot stratify: column {column!r} is missing; columns are {list(frame.columns)}"
        )
    if fraction == 1:
        return frame.reset_index(drop=True)
    positive = pd.to_numeric(frame[column], errors="coerce") >= threshold
    sampled = frame.groupby(positive.to_numpy(), group_keys=False).sample(
        frac=fraction, random_state=seed
    )
    return sampled.sort_index().reset_index(drop=True)


def load_sources(
    sources: Sequence[str], hashes: Sequence[str], cache_dir: Path
) -> tuple[pd.DataFrame, list[FetchedFile]]:
    """Every file behind sources (hf:// may list several), verified and read into one frame."""
    urls = resolve_sources(sources)
    if hashes and len(hashes) != len(urls):
        raise DownloadError(f"{len(hashes)} sha256 values given for {len(urls)} files: {urls}")
    files = [fetch(url, cache_dir, hashes[i] if hashes else None) for i, url in enumerate(urls)]
    return pd.concat([read_table(f.path, f.source) for f in files], ignore_index=True), files

"""The real download code against a real HTTP server on 127.0.0.1 serving generated data."""

import gzip
import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import DataServer
from toxic_mlops.data.download import (
    ChecksumError,
    DownloadError,
    fetch,
    read_table,
    resolve_sources,
    stratified_sample,
)


def serve_csv(server: DataServer, frame: pd.DataFrame, name: str = "comments.csv") -> str:
    frame.to_csv(server.directory / name, index=False)
    return f"{server.url}/{name}"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_fetch_streams_verifies_and_caches(data_server, comments, tmp_path) -> None:
    url = serve_csv(data_server, comments)
    expected = sha256_of(data_server.directory / "comments.csv")
    first = fetch(url, tmp_path / "cache", expected_sha256=expected)
    assert first.sha256 == expected
    pd.testing.assert_frame_equal(read_table(first.path), comments)

    second = fetch(url, tmp_path / "cache", expected_sha256=expected)
    assert second.path == first.path
    assert data_server.requests.count("/comments.csv") == 1  # the cached copy was reused


def test_transient_errors_are_retried(data_server, comments, tmp_path) -> None:
    url = serve_csv(data_server, comments)
    data_server.failures["/comments.csv"] = 2
    fetched = fetch(url, tmp_path / "cache", retries=3, backoff_seconds=0.01)
    assert data_server.requests.count("/comments.csv") == 3
    assert len(read_table(fetched.path)) == len(comments)


def test_gives_up_after_the_last_retry(data_server, comments, tmp_path) -> None:
    url = serve_csv(data_server, comments)
    data_server.failures["/comments.csv"] = 5
    with pytest.raises(DownloadError, match="failed after 2 attempts: HTTP 503"):
        fetch(url, tmp_path / "cache", retries=2, backoff_seconds=0.01)
    assert list((tmp_path / "cache").iterdir()) == []


def test_missing_file_is_a_clear_error_without_retries(data_server, tmp_path) -> None:
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch(f"{data_server.url}/nope.csv", tmp_path / "cache", backoff_seconds=0.01)
    assert data_server.requests == ["/nope.csv"]


def test_checksum_mismatch_leaves_nothing_behind(data_server, comments, tmp_path) -> None:
    url = serve_csv(data_server, comments)
    with pytest.raises(ChecksumError, match="the config pins 00"):
        fetch(url, tmp_path / "cache", expected_sha256="00" * 32)
    assert list((tmp_path / "cache").iterdir()) == []


def test_truncated_body_is_never_cached_as_complete(data_server, comments, tmp_path) -> None:
    url = serve_csv(data_server, comments)
    data_server.truncate.add("/comments.csv")
    with pytest.raises(DownloadError, match="failed after 2 attempts"):
        fetch(url, tmp_path / "cache", retries=2, backoff_seconds=0.01)
    assert list((tmp_path / "cache").iterdir()) == []
    data_server.truncate.clear()
    assert len(read_table(fetch(url, tmp_path / "cache").path)) == len(comments)


def test_corrupted_cache_entry_is_fetched_again(data_server, comments, tmp_path) -> None:
    url = serve_csv(data_server, comments)
    expected = sha256_of(data_server.directory / "comments.csv")
    cached = fetch(url, tmp_path / "cache", expected_sha256=expected).path
    cached.write_text("garbage")
    assert fetch(url, tmp_path / "cache", expected_sha256=expected).sha256 == expected
    assert data_server.requests.count("/comments.csv") == 2


def test_unreachable_host_is_reported(tmp_path) -> None:
    with pytest.raises(DownloadError, match="127.0.0.1:9/x.csv: failed after 2 attempts"):
        fetch("http://127.0.0.1:9/x.csv", tmp_path / "cache", retries=2, backoff_seconds=0.01)


def test_local_paths_and_file_urls(comments, tmp_path) -> None:
    path = tmp_path / "local.csv"
    comments.to_csv(path, index=False)
    assert fetch(str(path), tmp_path / "cache").path == path
    assert fetch(path.as_uri(), tmp_path / "cache").path == path
    with pytest.raises(DownloadError, match="no such file"):
        fetch(str(tmp_path / "missing.csv"), tmp_path / "cache")
    with pytest.raises(DownloadError, match="unsupported scheme"):
        fetch("ftp://example.org/x.csv", tmp_path / "cache")


def test_reads_csv_gzip_and_parquet_by_content(comments, tmp_path) -> None:
    comments.to_parquet(tmp_path / "a.data")
    with gzip.open(tmp_path / "b.data", "wt") as handle:
        comments.to_csv(handle, index=False)
    for name in ("a.data", "b.data"):
        pd.testing.assert_frame_equal(read_table(tmp_path / name), comments, check_dtype=False)
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(DownloadError, match="not a readable"):
        read_table(tmp_path / "bad.parquet")


def test_hf_source_lists_parquet_files_through_the_hub_api(data_server, comments) -> None:
    api = data_server.directory / "api/datasets/google/civil_comments/parquet/default"
    api.mkdir(parents=True)
    urls = [f"{data_server.url}/0.parquet", f"{data_server.url}/1.parquet"]
    (api / "train").write_text(json.dumps(urls))
    resolved = resolve_sources(
        ["hf://google/civil_comments/default/train", "/local.csv"], hf_endpoint=data_server.url
    )
    assert resolved == [*urls, "/local.csv"]
    with pytest.raises(DownloadError, match="expected hf://"):
        resolve_sources(["hf://google/civil_comments"], hf_endpoint=data_server.url)
    with pytest.raises(DownloadError, match="HTTP 404"):
        resolve_sources(["hf://google/nope/default/train"], hf_endpoint=data_server.url)


def test_stratified_sample_keeps_the_positive_rate(comments) -> None:
    sample = stratified_sample(comments, "toxicity", 0.5, 0.25, seed=1)
    assert abs(len(sample) - 0.25 * len(comments)) <= 2
    rate = (comments["toxicity"] >= 0.5).mean()
    assert abs((sample["toxicity"] >= 0.5).mean() - rate) < 0.01
    pd.testing.assert_frame_equal(sample, stratified_sample(comments, "toxicity", 0.5, 0.25, 1))
    with pytest.raises(DownloadError, match="column 'label' is missing"):
        stratified_sample(comments, "label", 0.5, 0.5, 1)


def test_reads_an_imdb_style_text_archive(tmp_path) -> None:
    import io
    import tarfile

    archive = tmp_path / "aclImdb_v1.tar.gz"
    files = {
        "aclImdb/train/pos/0_9.txt": "Great film.<br /><br />Loved it &amp; more",
        "aclImdb/train/neg/1_2.txt": "Dull.",
        "aclImdb/test/pos/2_8.txt": "Fine",
        "aclImdb/train/unsup/3_0.txt": "no label",
        "aclImdb/README": "not a review",
    }
    with tarfile.open(archive, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    frame = read_table(archive).sort_values("text").reset_index(drop=True)
    assert frame.to_dict("list") == {
        "text": ["Dull.", "Fine", "Great film.<br /><br />Loved it &amp; more", "no label"],
        "label": ["neg", "pos", "pos", "unsup"],
        "part": ["train", "test", "train", "train"],
    }

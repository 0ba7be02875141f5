"""Shared fixtures: a real local HTTP server, a throwaway MLflow store, tiny configs and data."""

from __future__ import annotations

import copy
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import pytest
import yaml

from tests.synthetic import make_comments

ROOT = Path(__file__).resolve().parent.parent


class DataServer:
    """Serves files from a folder on 127.0.0.1; can fail the next N requests of a path."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.failures: dict[str, int] = {}  # path -> remaining 503 answers
        self.truncate: set[str] = set()  # paths answered with a short body
        self.requests: list[str] = []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=str(server.directory), **kwargs)

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                server.requests.append(self.path)
                if server.failures.get(self.path, 0) > 0:
                    server.failures[self.path] -= 1
                    self.send_error(503, "try again")
                    return
                if self.path in server.truncate:
                    body = (server.directory / self.path.lstrip("/")).read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    return
                super().do_GET()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def data_server(tmp_path: Path) -> Iterator[DataServer]:
    root = tmp_path / "served"
    root.mkdir()
    server = DataServer(root)
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh sqlite tracking + registry store for one test."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)  # the default experiment's artifacts land in tmp_path too
    mlflow.set_tracking_uri(uri)
    yield uri
    mlflow.set_tracking_uri(None)


def tiny_config() -> dict[str, Any]:
    """configs/toxic.yaml scaled down so a model trains on synthetic data in seconds."""
    config = yaml.safe_load((ROOT / "configs" / "toxic.yaml").read_text())
    config = copy.deepcopy(config)
    config["sample"]["fraction"] = 1.0
    config["tokenizer"].update(vocab_size=300, min_frequency=1)
    config["model"].update(embedding_dim=16, hidden_size=16, ngram_buckets=4096)
    config["training"].update(epochs=4, batch_size=32, learning_rate=0.01, lr_decay=0.8, max_len=40)
    config["serving"]["max_rows"] = 100
    # A tiny LSTM on bag-of-words synthetic data need not beat TF-IDF; the rule is tested apart.
    config["registry"]["require_beat_baseline"] = False
    return config


@pytest.fixture
def tiny_config_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_config(), sort_keys=False))
    return path


@pytest.fixture(scope="session")
def comments():
    return make_comments(1200, seed=0)

"""The page server's own answers: static files only, one-line errors, no CORS (no model needed)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests
from mlflow.tracking import MlflowClient

from toxic_mlops.serving.model_server import free_port
from toxic_mlops.serving.page_server import MAX_REQUEST_BYTES, PageSettings, page_server


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The page server on a free port, its model server down, an empty registry."""
    registry = MlflowClient(f"sqlite:///{tmp_path_factory.mktemp('registry') / 'mlflow.db'}")
    settings = PageSettings(f"http://127.0.0.1:{free_port()}", "models:/toxic/Production")
    server = page_server(settings, "127.0.0.1", 0, registry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_serves_the_page_with_a_strict_policy_and_no_cors(page: str) -> None:
    response = requests.get(f"{page}/", timeout=5)
    assert response.status_code == 200 and '<script src="page.js">' in response.text
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert not [h for h in response.headers if h.lower().startswith("access-control")]
    assert (
        requests.get(f"{page}/page.js", timeout=5)
        .headers["Content-Type"]
        .startswith("text/javascript")
    )


@pytest.mark.parametrize("path", ["/nope", "/%2e%2e/pyproject.toml", "/..%2fMakefile"])
def test_only_the_pages_own_files_are_served(page: str, path: str) -> None:
    response = requests.get(f"{page}{path}", timeout=5)
    assert response.status_code == 404 and "no such page" in response.json()["message"]


def test_errors_are_one_clear_line(page: str) -> None:
    down = requests.post(f"{page}/invocations", json={"inputs": ["hi"]}, timeout=10)
    assert down.status_code == 502 and "is not reachable" in down.json()["message"]
    assert requests.get(f"{page}/ping", timeout=10).status_code == 502
    empty = requests.post(f"{page}/invocations", data=b"", timeout=5)
    assert empty.status_code == 400
    huge = requests.post(f"{page}/invocations", data=b"x" * (MAX_REQUEST_BYTES + 1), timeout=10)
    assert huge.status_code == 413
    model = requests.get(f"{page}/model", timeout=10)
    assert model.status_code == 503 and "models:/toxic/Production" in model.json()["message"]
    assert "Traceback" not in model.text

"""The page server's own answers: static files only, one-line errors, no CORS, no cross-site
use, the same security headers on every answer (no model needed)."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator

import pytest
import requests
from mlflow.tracking import MlflowClient

from toxic_mlops.serving.model_server import free_port
from toxic_mlops.serving.page_server import (
    MAX_REQUEST_BYTES,
    SECURITY_HEADERS,
    PageSettings,
    page_server,
)

JSON = {"Content-Type": "application/json"}


def serve(server: http.server.HTTPServer) -> None:
    threading.Thread(target=server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The page server on a free port, its model server down, an empty registry."""
    registry = MlflowClient(f"sqlite:///{tmp_path_factory.mktemp('registry') / 'mlflow.db'}")
    settings = PageSettings(f"http://127.0.0.1:{free_port()}", "models:/toxic/Production")
    server = page_server(settings, "127.0.0.1", 0, registry)
    serve(server)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class TracingUpstream(http.server.BaseHTTPRequestHandler):
    """A scoring server of an older model: its 400 carries a stack trace with paths."""

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps(
            {
                "error_code": "BAD_REQUEST",
                "message": "Failed to predict data 'x'. \nError: item 0 is int",
                "stack_trace": 'Traceback (most recent call last):\n  File "/venv/lib/x.py"',
            }
        ).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


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
    empty = requests.post(f"{page}/invocations", data=b"", headers=JSON, timeout=5)
    assert empty.status_code == 400
    huge = b"x" * (MAX_REQUEST_BYTES + 1)
    too_large = requests.post(f"{page}/invocations", data=huge, headers=JSON, timeout=10)
    assert too_large.status_code == 413
    model = requests.get(f"{page}/model", timeout=10)
    assert model.status_code == 503 and "models:/toxic/Production" in model.json()["message"]
    assert "Traceback" not in model.text


def assert_hardened(response: requests.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (response.status_code, name)
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "Python" not in response.headers["Server"] and "/" not in response.headers["Server"]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Origin": "https://evil.example", **JSON}, 403),
        ({"Origin": "null", **JSON}, 403),
        ({"Sec-Fetch-Site": "cross-site", **JSON}, 403),
        ({}, 415),  # a body without a content type is not read as JSON
        ({"Content-Type": "text/plain"}, 415),  # what a cross-site "simple" fetch may send
        ({"Content-Type": "application/x-www-form-urlencoded"}, 415),  # a cross-site form
    ],
)
def test_a_cross_site_post_is_refused_before_it_reaches_the_model(
    page: str, headers: dict[str, str], status: int
) -> None:
    answer = requests.post(f"{page}/invocations", data=b'{"inputs": ["hi"]}', headers=headers)
    assert answer.status_code == status, answer.text
    assert_hardened(answer)


def test_its_own_origin_passes_the_checks(page: str) -> None:
    headers = {"Origin": page, "Sec-Fetch-Site": "same-origin", **JSON}
    answer = requests.post(f"{page}/invocations", data=b'{"inputs": ["hi"]}', headers=headers)
    assert answer.status_code == 502  # past the checks, to the (stopped) model server


def test_another_host_name_is_refused(page: str) -> None:
    """A DNS-rebinding site reaches 127.0.0.1 under its own name: the Host header tells."""
    port = page.rsplit(":", 1)[1]
    for method in ("GET", "POST"):
        answer = requests.request(
            method, f"{page}/model", headers={"Host": f"evil.example:{port}", **JSON}
        )
        assert answer.status_code == 421
        assert_hardened(answer)
    assert requests.get(f"{page}/", headers={"Host": f"localhost:{port}"}).status_code == 200


@pytest.mark.parametrize("method", ["OPTIONS", "PUT", "DELETE", "PATCH", "HEAD"])
def test_other_methods_get_405_with_the_security_headers(page: str, method: str) -> None:
    answer = requests.request(method, f"{page}/invocations")
    assert answer.status_code == 405 and answer.headers["Allow"] == "GET, POST"
    assert_hardened(answer)
    assert not [h for h in answer.headers if h.lower().startswith("access-control")]


def test_every_answer_is_hardened(page: str) -> None:
    for answer in (
        requests.get(f"{page}/"),
        requests.get(f"{page}/page.js"),
        requests.get(f"{page}/nope"),
        requests.get(f"{page}/model"),
        requests.post(f"{page}/invocations", json={"inputs": ["hi"]}),
        requests.request("BREW", f"{page}/"),  # http.server's own 501
    ):
        assert_hardened(answer)
    host, port = page.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        # http.server's own 431 for a header line over its limit
        raw.sendall(b"GET / HTTP/1.1\r\nX-Long: " + b"x" * 70_000 + b"\r\n\r\n")
        reply = raw.recv(4096).decode()
    assert reply.startswith("HTTP/1.0 431"), reply
    assert "frame-ancestors 'none'" in reply and "Python" not in reply


def test_upstream_errors_pass_as_one_line_without_a_trace(tmp_path) -> None:
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), TracingUpstream)
    serve(upstream)
    registry = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    settings = PageSettings(f"http://127.0.0.1:{upstream.server_address[1]}", "models:/toxic/1")
    server = page_server(settings, "127.0.0.1", 0, registry)
    serve(server)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/invocations"
        answer = requests.post(url, json={"inputs": [1]}, timeout=10)
        assert answer.status_code == 400
        assert answer.json() == {
            "error_code": "BAD_REQUEST",
            "message": "Failed to predict data 'x'. Error: item 0 is int",
        }
    finally:
        for running in (server, upstream):
            running.shutdown()
            running.server_close()

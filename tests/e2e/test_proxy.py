"""nginx in front of the real `mlflow models serve`: token, body limit, rate limit, bad JSON,
the model server on a private socket, no request failed by another client's error.

After every refused request the model server must still answer /ping and a real /invocations.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT, Project, tiny_config
from toxic_mlops.config import ProxyConfig
from toxic_mlops.serving.model_server import BIN, UnixHTTPConnection, free_port
from toxic_mlops.serving.proxy import (
    Nginx,
    PublicServer,
    body_limit_bytes,
    find_nginx,
    lock_socket,
    socket_folder,
    worker_group,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        find_nginx() is None, reason="nginx is not installed (Debian: apt-get install nginx-light)"
    ),
]
MAX_ROWS = tiny_config()["serving"]["max_rows"]
LIMITS = ProxyConfig(rate_per_second=10, burst=20, timeout_seconds=30)
COMMENT = "You stupid idiot moron loser."
INNOCENT = 20


@pytest.fixture(scope="module")
def public(project: Project, pipeline: dict[str, str], tmp_path_factory) -> PublicServer:
    folder = Path(tmp_path_factory.mktemp("proxy"))
    with PublicServer(
        "models:/toxic/Production", folder, MAX_ROWS, LIMITS, env=project.env
    ) as server:
        yield server


def post(server: PublicServer, body: object = None, token: str | None = "", **kwargs):
    token = server.token if token == "" else token
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    body = {"inputs": [COMMENT]} if body is None else body
    return requests.post(
        f"{server.url}/invocations", json=body, headers=headers, timeout=30, **kwargs
    )


def assert_alive(server: PublicServer) -> None:
    assert server.model_server.request("GET", "/ping", timeout=5)[0] == 200
    answer = post(server)
    assert answer.status_code == 200, answer.text
    assert 0 <= answer.json()["predictions"][0]["toxicity"] <= 1


def test_health_checks_need_no_token(public: PublicServer) -> None:
    for path in ("/ping", "/health"):
        assert requests.get(f"{public.url}{path}", timeout=5).status_code == 200


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_no_or_a_wrong_token_gets_401(public: PublicServer, token) -> None:
    answer = post(public, token=token)
    assert answer.status_code == 401
    assert "Bearer" in answer.headers["WWW-Authenticate"] and "Bearer" in answer.json()["message"]
    assert_alive(public)


def test_the_token_is_compared_exactly(public: PublicServer) -> None:
    """nginx's map compares plain strings ignoring case: the token's case must count."""
    token = public.token
    assert token.swapcase() != token  # token_urlsafe(32): letters of both cases
    for variant in (token.swapcase(), token.upper(), token.lower(), token + "x", token[:-1]):
        if variant != token:
            assert post(public, token=variant).status_code == 401, variant
    headers = {"Authorization": f"bearer {token}"}  # the scheme is case-insensitive (RFC 7235)
    answer = requests.post(
        f"{public.url}/invocations", json={"inputs": [COMMENT]}, headers=headers, timeout=30
    )
    assert answer.status_code == 200


def test_the_model_server_is_reachable_through_nginx_only(public: PublicServer) -> None:
    """A unix socket in a private folder, no TCP port: another local user cannot open it."""
    socket, folder = public.socket, public.socket.parent
    assert public.model_server.url == f"unix:{socket}"
    group = worker_group()
    assert stat.S_IMODE(folder.stat().st_mode) == (0o700 if group is None else 0o710)
    assert stat.S_IMODE(socket.stat().st_mode) == (0o600 if group is None else 0o660)
    if os.geteuid() != 0 or shutil.which("curl") is None:
        return
    assert folder.stat().st_gid == socket.stat().st_gid == group

    def curl_ping(**as_user: str) -> int:
        command = ["curl", "-s", "-o", "/dev/null", "--unix-socket", str(socket), "http://x/ping"]
        return subprocess.run(command, cwd="/", **as_user).returncode

    assert curl_ping() == 0  # root can
    # `daemon`: a local user that is neither us nor nginx's workers; 7: could not connect
    assert curl_ping(user="daemon", group="daemon") == 7


def test_the_body_limit_follows_max_rows(public: PublicServer) -> None:
    limit = body_limit_bytes(MAX_ROWS, LIMITS)
    longest_allowed = "x" * (LIMITS.bytes_per_comment - 4)  # quotes, comma and space
    full = post(public, {"inputs": [longest_allowed] * MAX_ROWS})
    assert full.status_code == 200, full.text[:300]  # max_rows comments of the sized length pass
    oversized = post(public, {"inputs": ["x" * (limit // 10)] * 11})
    assert oversized.status_code == 413
    assert f"at most {MAX_ROWS} comments" in oversized.json()["message"]
    assert_alive(public)


def test_more_rows_than_max_rows_is_still_a_400_from_the_model(public: PublicServer) -> None:
    answer = post(public, {"inputs": ["hi"] * (MAX_ROWS + 1)})
    assert answer.status_code == 400
    assert f"Too many comments in one request: {MAX_ROWS + 1}" in answer.json()["message"]


def test_no_content_type_is_refused_by_nginx(public: PublicServer) -> None:
    headers = {"Authorization": f"Bearer {public.token}"}
    answer = requests.post(
        f"{public.url}/invocations", data=b'{"inputs": ["a"]}', headers=headers, timeout=30
    )
    assert answer.status_code == 415 and "Content-Type" in answer.json()["message"]
    assert answer.json()["error_code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_deeply_nested_json_is_a_400_and_innocent_requests_pass(public: PublicServer) -> None:
    """nginx cannot parse JSON; the model's guard answers MLflow's RecursionError with a 400."""
    depth = 100_000  # 200 KB of brackets, under the body limit
    body = '{"inputs": ' + "[" * depth + "]" * depth + "}"
    # After a pause nginx serves burst + 1 requests at once, then 429 until the bucket drains:
    # the nested one, the innocent ones and assert_alive's must fit whatever the server's speed
    # (with 20 innocent ones, 22 requests passed only if they took over 0.1 s: a fast run failed).
    innocent = LIMITS.burst - 2
    time.sleep(2 * LIMITS.burst / LIMITS.rate_per_second)  # an empty bucket
    answer = requests.post(
        f"{public.url}/invocations",
        data=body,
        headers={"Authorization": f"Bearer {public.token}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 400, answer.text[:300]
    assert answer.json()["message"] == "The JSON is nested too deeply."
    assert [post(public).status_code for _ in range(innocent)] == [200] * innocent
    assert_alive(public)


def test_a_flood_from_one_client_gets_429_and_writes_no_error_lines(public: PublicServer) -> None:
    time.sleep(2)  # an empty bucket: earlier tests' requests do not count
    answers = [post(public, {"inputs": ["hi"]}) for _ in range(4 * LIMITS.burst)]
    codes = [answer.status_code for answer in answers]
    assert set(codes) == {200, 429}, codes
    assert codes[: LIMITS.burst] == [200] * LIMITS.burst  # the burst is served
    refused = [answer for answer in answers if answer.status_code == 429]
    assert all(answer.headers["Retry-After"] == "1" for answer in refused)
    time.sleep(2 * LIMITS.burst / LIMITS.rate_per_second)
    assert_alive(public)
    errors = (public.folder / "error.log").read_text()
    assert "limiting requests" not in errors  # logged at info, under error_log's level


@pytest.fixture(scope="module")
def failing_upstream(tmp_path_factory) -> Nginx:
    """nginx, as the proxy runs it, in front of uvicorn serving an app whose errors escape it."""
    socket = socket_folder() / "model.sock"
    server = subprocess.Popen(
        [str(BIN / "uvicorn"), "--uds", str(socket), "bench.failing_server:app"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not socket.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        lock_socket(socket)
        limits = {
            "body_limit": 1 << 20,
            "max_rows": 10,
            "rate_per_second": 1000,
            "burst": 1000,
            "timeout": 30,
        }
        folder = Path(tmp_path_factory.mktemp("failing-proxy"))
        with Nginx(folder, socket, "127.0.0.1", free_port(), "a-Token_1", limits) as nginx:
            yield nginx
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(socket.parent, ignore_errors=True)


def test_another_clients_500_never_fails_an_innocent_request(failing_upstream: Nginx) -> None:
    """uvicorn closes a connection after an error escaped the app, its 500 already sent; a
    kept-alive upstream connection then failed the next request with 502 (7 of 11 tries)."""
    headers = {"Authorization": "Bearer a-Token_1", "Content-Type": "application/json"}
    url = f"{failing_upstream.url}/invocations"
    direct = UnixHTTPConnection(failing_upstream.socket, 5)  # the stand-in does fail
    direct.request("POST", "/invocations", body=b"boom", headers=headers)  # not JSON
    assert direct.getresponse().status == 500
    direct.close()
    for _ in range(5):
        failed = requests.post(url, data=b"boom", headers=headers, timeout=30)
        assert failed.status_code == 500
        assert failed.json()["error_code"] == "INTERNAL_ERROR"  # nginx's line, not the app's
        codes = [
            requests.post(url, data=b"{}", headers=headers, timeout=30).status_code
            for _ in range(INNOCENT)
        ]
        assert codes == [200] * INNOCENT

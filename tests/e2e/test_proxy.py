"""nginx in front of the real `mlflow models serve`: token, body limit, rate limit, bad JSON.

After every refused request the model server must still answer /ping and a real /invocations.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from tests.conftest import Project, tiny_config
from toxic_mlops.config import ProxyConfig
from toxic_mlops.serving.proxy import PublicServer, body_limit_bytes, find_nginx

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        find_nginx() is None, reason="nginx is not installed (Debian: apt-get install nginx-light)"
    ),
]
MAX_ROWS = tiny_config()["serving"]["max_rows"]
LIMITS = ProxyConfig(rate_per_second=10, burst=20, timeout_seconds=30)
COMMENT = "You stupid idiot moron loser."


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
    assert requests.get(f"{server.model_server.url}/ping", timeout=5).status_code == 200
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


def test_deeply_nested_json_fails_alone_and_the_server_lives(public: PublicServer) -> None:
    """nginx cannot parse JSON; MLflow's parser hits Python's recursion limit (see the docs)."""
    depth = 100_000  # 200 KB of brackets, under the body limit
    body = '{"inputs": ' + "[" * depth + "]" * depth + "}"
    answer = requests.post(
        f"{public.url}/invocations",
        data=body,
        headers={"Authorization": f"Bearer {public.token}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 500, answer.text[:300]
    assert_alive(public)


def test_a_flood_from_one_client_gets_429(public: PublicServer) -> None:
    time.sleep(2)  # an empty bucket: earlier tests' requests do not count
    codes = [post(public, {"inputs": ["hi"]}).status_code for _ in range(4 * LIMITS.burst)]
    assert set(codes) == {200, 429}, codes
    assert codes[: LIMITS.burst] == [200] * LIMITS.burst  # the burst is served
    time.sleep(2 * LIMITS.burst / LIMITS.rate_per_second)
    assert_alive(public)

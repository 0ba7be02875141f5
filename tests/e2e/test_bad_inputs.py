"""The bad-input corpus (tests/e2e/bad_inputs.py) against the real served model: directly (as
`make serve` serves it), through the proxy (`make serve-public`) and through the page (`make page`).

No answer is a 5xx, none shows a traceback, a `stack_trace` or a path of the machine, and after
every request the server is alive and scores a known comment exactly as before.
"""

from __future__ import annotations

import http.client
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT, Project, tiny_config
from tests.e2e.bad_inputs import BadInput, corpus, leaks
from tests.e2e.test_page import PageProcess
from toxic_mlops.config import ProxyConfig
from toxic_mlops.serving.model_server import ModelServer
from toxic_mlops.serving.proxy import PublicServer, find_nginx

pytestmark = pytest.mark.e2e

MAX_ROWS = tiny_config()["serving"]["max_rows"]
CASES = corpus(MAX_ROWS)
KNOWN = {"inputs": ["You stupid idiot moron loser.", "thanks, that was helpful"]}
# No rate limit in the way: the corpus and its liveness checks come in a quick row.
LIMITS = ProxyConfig(rate_per_second=1000, burst=1000, timeout_seconds=60)


def send(url: str, case: BadInput, token: str | None = None) -> tuple[int, str]:
    """(status, body) of one raw request: the path goes out exactly as written."""
    host, port = url.removeprefix("http://").split(":")
    headers = {"Content-Type": case.content_type} if case.content_type else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    connection = http.client.HTTPConnection(host, int(port), timeout=120)
    try:
        connection.request(case.method, case.path, body=case.body or None, headers=headers)
        answer = connection.getresponse()
        return answer.status, answer.read().decode("utf-8", "replace")
    finally:
        connection.close()


def machine_paths(project: Project) -> list[str]:
    return [str(ROOT), sys.prefix, str(project.workdir), str(Path.home())]


def check_corpus(url: str, project: Project, token: str | None = None) -> dict[str, int]:
    """Every case once, the server checked after each; returns the status per case."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    reference = requests.post(f"{url}/invocations", json=KNOWN, headers=headers, timeout=60)
    assert reference.status_code == 200, reference.text
    statuses = {}
    for case in CASES:
        status, body = send(url, case, token)
        statuses[case.name] = status
        assert status < 500, (case.name, status, body[:300])
        assert not leaks(body), (case.name, leaks(body), body[:300])
        assert not [path for path in machine_paths(project) if path in body], case.name
        again = requests.post(f"{url}/invocations", json=KNOWN, headers=headers, timeout=60)
        assert again.status_code == 200 and again.json() == reference.json(), case.name
    return statuses


@pytest.fixture(scope="module")
def direct(project: Project, pipeline: dict[str, str]) -> Iterator[ModelServer]:
    with ModelServer("models:/toxic/Production", env=project.env, cwd=project.workdir) as server:
        yield server


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 35 and len({case.name for case in CASES}) == len(CASES)


def test_every_bad_input_directly(direct: ModelServer, project: Project) -> None:
    statuses = check_corpus(direct.url, project)
    # What the model server answers, kind by kind (the proxy and the page add their own).
    assert statuses["deep nesting"] == statuses["invalid JSON"] == 400
    assert statuses["no content type"] == statuses["text/plain"] == 415
    assert statuses["lone surrogate"] == statuses["UTF-16 body"] == 200
    assert statuses["too many rows"] == 400


def test_csv_works_for_the_text_column(direct: ModelServer) -> None:
    as_json = requests.post(f"{direct.url}/invocations", json=KNOWN, timeout=60)
    csv = 'id,text\n1,You stupid idiot moron loser.\n2,"thanks, that was helpful"\n'
    as_csv = requests.post(
        f"{direct.url}/invocations",
        data=csv.encode(),
        headers={"Content-Type": "text/csv; charset=utf-8"},
        timeout=60,
    )
    assert as_csv.status_code == 200 and as_csv.json() == as_json.json()


@pytest.mark.skipif(find_nginx() is None, reason="nginx is not installed")
def test_every_bad_input_through_the_proxy(
    project: Project, pipeline: dict[str, str], tmp_path: Path
) -> None:
    with PublicServer(
        "models:/toxic/Production", tmp_path / "proxy", MAX_ROWS, LIMITS, env=project.env
    ) as public:
        statuses = check_corpus(public.url, project, public.token)
        assert statuses["no content type"] == 415  # nginx's own answer
        assert statuses["deep nesting"] == 400  # the model server's
        assert statuses["huge single comment"] == 413  # over the tiny model's body limit
        log = (tmp_path / "proxy" / "model-server.log").read_text()
    assert "Traceback" not in log  # nothing failed inside the model server either


def test_every_bad_input_through_the_page(direct: ModelServer, project: Project) -> None:
    page = PageProcess(project.env, direct.url)
    try:
        statuses = check_corpus(page.url, project)
        assert statuses["no content type"] == statuses["text/plain"] == 415
        assert statuses["OPTIONS /invocations"] == 405
    finally:
        page.stop()


def test_the_page_refuses_a_cross_site_post(direct: ModelServer, project: Project) -> None:
    page = PageProcess(project.env, direct.url)
    try:
        url = f"{page.url}/invocations"
        forged = requests.post(
            url, json=KNOWN, headers={"Origin": "https://evil.example"}, timeout=30
        )
        assert forged.status_code == 403 and "cross-site" in forged.json()["message"]
        form = requests.post(url, data={"inputs": "you idiot"}, timeout=30)  # a cross-site form
        assert form.status_code == 415
        own = requests.post(url, json=KNOWN, headers={"Origin": page.url}, timeout=60)
        assert own.status_code == 200
    finally:
        page.stop()

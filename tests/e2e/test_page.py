"""The page in a real browser (Debian's chromium driven by Playwright) against a served model.

The model is the e2e suite's tiny one (tests/conftest.py `pipeline`), registered and served for
real; the page server runs as `make page` runs it. Without /usr/bin/chromium the browser test is
skipped, unless TOXIC_MLOPS_REQUIRE_BROWSER is set (CI sets it: .ci/run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from mlflow.tracking import MlflowClient

from tests.conftest import ROOT, Project
from tests.synthetic import LABELS
from toxic_mlops.serving.model_server import ModelServer, free_port

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "build" / "test-artifacts"
# Shaped like the tiny model's training comments (tests/synthetic.py): "idiot" is what makes one
# toxic, the rest are its neutral words.
TOXIC = "Thanks the council meeting idiot great local news."
CLEAN = "Thanks the council meeting great local news."
XSS_IMG = '<img src=x onerror="window.__xss = 1; alert(1)"> stupid 😡 park'
XSS_SCRIPT = "<script>window.__xss = 2; alert(2)</script> the road"
COMMENTS = [TOXIC, CLEAN, XSS_IMG, XSS_SCRIPT]


@pytest.fixture(scope="module")
def served(project: Project, pipeline: dict[str, str]) -> Iterator[str]:
    with ModelServer("models:/toxic/Production", env=project.env, cwd=project.workdir) as server:
        yield server.url


class PageProcess:
    """`python -m toxic_mlops.serving page` (what `make page` runs) on a free port."""

    def __init__(self, env: dict[str, str], upstream: str) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "toxic_mlops.serving",
                "page",
                "--upstream",
                upstream,
                "--port",
                "0",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline()
        assert line.startswith("page on http://127.0.0.1:"), line
        self.url = line.split()[2].rstrip("/")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def page_url(project: Project, served: str) -> Iterator[str]:
    page = PageProcess(project.env, served)
    yield page.url
    page.stop()


def invoke(url: str, body: dict) -> list[dict]:
    response = requests.post(f"{url}/invocations", json=body, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["predictions"]


def test_explain_through_the_scoring_server(served: str) -> None:
    plain = invoke(served, {"inputs": COMMENTS})
    explained = invoke(served, {"inputs": COMMENTS, "params": {"explain": True}})
    assert [set(row) for row in plain] == [set(LABELS)] * len(COMMENTS)
    for text, row, scores in zip(COMMENTS, explained, plain, strict=True):
        assert {label: row[label] for label in LABELS} == scores
        explanation = row["explanation"]
        for piece in explanation["words"] + explanation["spans"]:
            assert text[piece["start"] : piece["end"]] == piece["text"]
        assert not explanation["truncated"]
    top = max(explained[0]["explanation"]["words"], key=lambda w: w["score"])
    assert top["text"] == "idiot"
    assert any("idiot" in span["text"] for span in explained[0]["explanation"]["spans"])
    assert all("<img" not in span["text"] for span in explained[2]["explanation"]["spans"])
    refused = requests.post(
        f"{served}/invocations", json={"inputs": ["hi"], "params": {"explain": "maybe"}}, timeout=30
    )
    assert refused.status_code == 400 and "explain" in refused.json()["message"]


def test_page_server_answers_model_and_proxies(project: Project, page_url: str, served: str):
    info = requests.get(f"{page_url}/model", timeout=30).json()
    version = MlflowClient(project.env["MLFLOW_TRACKING_URI"]).get_model_version_by_alias(
        "toxic", "production"
    )
    assert (info["name"], info["version"], info["stage"]) == (
        "toxic",
        version.version,
        "Production",
    )
    assert set(info["thresholds"]) == set(LABELS)
    assert requests.get(f"{page_url}/ping", timeout=10).status_code == 200
    body = {"inputs": COMMENTS}
    assert invoke(page_url, body) == invoke(served, body)
    bad = requests.post(f"{page_url}/invocations", json={"inputs": [1]}, timeout=30)
    assert bad.status_code == 400 and "must be a string" in bad.json()["message"]
    response = requests.get(f"{page_url}/", timeout=10)
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert requests.get(f"{page_url}/../pyproject.toml", timeout=10).status_code == 404


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        if os.environ.get("TOXIC_MLOPS_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing: make install installs it (apt, as root)")
        pytest.skip(f"{CHROMIUM} is missing (make install installs it on Debian/Ubuntu)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


def shown_scores(card) -> dict[str, str]:
    rows = card.locator(".row")
    return {
        rows.nth(i).get_attribute("data-label"): rows.nth(i).locator(".score").inner_text()
        for i in range(rows.count())
    }


def test_the_page_shows_the_apis_scores_and_highlights(
    browser, page_url: str, served: str, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(page_url)
    page.locator("#model .version").wait_for()
    assert page.locator("#model .name").inner_text() == "toxic"

    page.click("#score")  # nothing typed yet
    assert "Type a comment first" in page.locator("#status").inner_text()

    page.fill("#comments", "\n".join(COMMENTS) + "\n\n")
    page.click("#score")
    page.locator(".card").nth(len(COMMENTS) - 1).wait_for()
    cards = page.locator(".card")
    assert cards.count() == len(COMMENTS)

    expected = invoke(served, {"inputs": COMMENTS})
    for index, scores in enumerate(expected):
        shown = shown_scores(cards.nth(index))
        assert list(shown) == sorted(scores, key=scores.get, reverse=True)  # sorted bars
        for label, value in scores.items():
            assert abs(float(shown[label]) - value) <= 0.0005 + 1e-9, (index, label)

    explained = invoke(served, {"inputs": COMMENTS, "params": {"explain": True}})
    for index, row in enumerate(explained):  # the page marks exactly the returned spans
        marks = cards.nth(index).locator(".comment mark")
        spans = row["explanation"]["spans"]
        assert [marks.nth(i).inner_text() for i in range(marks.count())] == [
            span["text"] for span in spans
        ]
    assert any("idiot" in span["text"] for span in explained[0]["explanation"]["spans"])

    for index, payload in ((2, XSS_IMG), (3, XSS_SCRIPT)):
        assert cards.nth(index).locator(".comment").text_content() == payload
    assert page.locator("#results img, #results script").count() == 0
    assert page.evaluate("window.__xss") is None and dialogs == []

    screenshot = tmp_path / "page.png"
    page.screenshot(path=str(screenshot), full_page=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(screenshot, ARTIFACTS / "page.png")
    page.close()


def test_the_page_says_when_the_model_server_is_down(browser, project: Project) -> None:
    page_server = PageProcess(project.env, f"http://127.0.0.1:{free_port()}")
    try:
        page = browser.new_page()
        page.goto(page_server.url)
        page.fill("#comments", TOXIC)
        page.click("#score")
        status = page.locator("#status.error")
        status.wait_for()
        assert "is not reachable" in status.inner_text()
        assert page.locator(".card").count() == 0
        page.close()
    finally:
        page_server.stop()

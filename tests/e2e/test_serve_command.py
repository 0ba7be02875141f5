"""`python -m toxic_mlops.serving serve|public`: what they say at start, and a user's error."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT, Project
from toxic_mlops.serving.model_server import free_port
from toxic_mlops.serving.proxy import TOKEN_ENV, find_nginx

pytestmark = pytest.mark.e2e


def start(project: Project, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "toxic_mlops.serving", *args],
        cwd=ROOT,
        env=env or project.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def lines_until_ready(process: subprocess.Popen, timeout: float = 300) -> list[str]:
    lines, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("ready on "):
            return lines
    process.kill()
    raise AssertionError("no 'ready on' line:\n" + "\n".join(lines))


def stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0, rest
    return rest


def test_serve_says_what_it_loads_and_when_it_is_ready(project: Project, pipeline) -> None:
    port = free_port()
    process = start(project, "serve", "--model", "models:/toxic/Production", "--port", str(port))
    lines = lines_until_ready(process)
    assert lines[0].startswith("loading model toxic version ")
    assert " (Production) from " in lines[0]
    assert lines[-1].startswith(f"ready on http://127.0.0.1:{port} ")
    output = "\n".join(lines)
    assert "Downloading artifacts" not in output and "Add type hints" not in output
    assert requests.get(f"http://127.0.0.1:{port}/ping", timeout=5).status_code == 200
    assert "stopped the model server" in stop(process)


def processes() -> list[tuple[int, str, int, int]]:
    """(pid, state, parent pid, process group) of every process, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):  # it ended while we read
            continue
        found.append((int(stat.parent.name), fields[0], int(fields[1]), int(fields[2])))
    return found


def child_of(pid: int, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = [child for child, _, parent, _ in processes() if parent == pid]
        if children:
            return children[0]
        time.sleep(0.05)
    raise AssertionError(f"process {pid} started no child in {timeout} s")


def test_a_stop_while_the_model_loads_leaves_no_server(project: Project, pipeline) -> None:
    port = free_port()
    process = start(project, "serve", "--model", "models:/toxic/Production", "--port", str(port))
    # `mlflow models serve` leads its own process group, uvicorn in it: SIGTERM it while loading.
    server_group = child_of(process.pid)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "ready on" not in output and output.endswith("stopped the model server\n"), output
    alive = [(pid, group) for pid, state, _, group in processes() if state != "Z"]  # not zombies
    running = [pid for pid, group in alive if group == server_group]
    assert not running, f"a model server was left running: {running}"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/ping", timeout=5)


def test_an_unknown_model_is_one_line(project: Project, pipeline) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "toxic_mlops.serving", "serve", "--model", "models:/nope/1"],
        cwd=ROOT,
        env=project.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("Error: models:/nope/1: ") and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr + done.stdout


@pytest.mark.skipif(find_nginx() is None, reason="nginx is not installed")
def test_serve_public_shows_the_token_it_checks(project: Project, pipeline, tmp_path: Path) -> None:
    folder = tmp_path / "proxy"
    folder.mkdir()
    (folder / "token").write_text("a-stale-token-from-an-earlier-run")
    env = {**project.env, TOKEN_ENV: "the-token-of-this-run"}
    config = str(project.workdir / "tiny.yaml")
    process = start(project, "public", "--config", config, "--folder", str(folder), env=env)
    lines = lines_until_ready(process)
    assert lines[0].startswith("loading model toxic version ")
    output = "\n".join(lines) + process.stdout.readline()
    assert f'"Authorization: Bearer ${TOKEN_ENV}"' in output and "cat " not in output
    url = lines[-1].split()[2]
    answer = requests.post(
        f"{url}/invocations",
        json={"inputs": ["hi"]},
        headers={"Authorization": "Bearer the-token-of-this-run"},
        timeout=60,
    )
    assert answer.status_code == 200
    assert "stopped nginx and the model server" in stop(process)

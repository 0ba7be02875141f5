"""`make demo` once per session, as a newcomer runs it: test_demo checks the run, test_image builds
the serving image of the model it registers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT
from toxic_mlops.serving.model_server import BIN

TIMEOUT_S = 1800  # a safety net, not a speed check: minutes on an idle 2-core machine
VENV = Path(sys.executable).parent.parent


def run_tree(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run command; on timeout stop it with everything it started (make -> mlflow -> steps)."""
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        process.communicate()
        pytest.fail(f"{' '.join(command)} took over {TIMEOUT_S} s")
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def make(target: str, env: dict[str, str], *variables: str) -> subprocess.CompletedProcess:
    # -o: the venv running this test is installed; make must not rebuild it.
    return run_tree(["make", "-o", f"{VENV}/.installed", target, f"VENV={VENV}", *variables], env)


@dataclass(frozen=True)
class Demo:
    env: dict[str, str]  # the environment make demo ran in: its own tracking store
    done: subprocess.CompletedProcess


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    tmp_path = tmp_path_factory.mktemp("demo")
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "MLFLOW_EXPERIMENT_NAME": "demo",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        "HOME": str(tmp_path),  # no download cache or anything else from the user's home
    }
    # The experiment first, so its artifacts land in tmp_path; make demo then finds it.
    init = [sys.executable, "-m", "toxic_mlops.mlflow_io", "init-tracking", "--experiment", "demo"]
    run_tree([*init, "--artifact-root", str(tmp_path / "mlartifacts")], env).check_returncode()
    return Demo(env, make("demo", env))

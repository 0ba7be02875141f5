"""`make demo` as a newcomer runs it: the bundled sample through the whole chain, offline.

Asserts that the chain ran and registered `toxic` and that the next steps are printed, never the
sample's quality figures (those are in docs/benchmarks.md).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import ROOT
from toxic_mlops.serving.model_server import BIN

pytestmark = pytest.mark.e2e

SAMPLE_ROWS = 6293  # data/README.md
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


def test_make_demo_runs_the_chain_on_the_bundled_sample(tmp_path: Path) -> None:
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
    # -o: the venv running this test is installed; make must not rebuild it.
    done = run_tree(["make", "-o", f"{VENV}/.installed", "demo", f"VENV={VENV}"], env)
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    assert "Next: make serve" in done.stdout and "make page" in done.stdout

    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    (main,) = client.search_runs(
        [client.get_experiment_by_name("demo").experiment_id],
        "tags.`mlflow.project.entryPoint` = 'main'",
    )
    download = client.get_run(main.data.tags["pipeline.download_run"])
    assert download.data.metrics["rows_source"] == SAMPLE_ROWS
    assert download.data.params["config"] == "configs/sample.yaml"
    (version,) = client.search_model_versions("name='toxic'")
    assert version.run_id == main.data.tags["pipeline.train_run"]
    # The README's next step serves models:/toxic/Production: the demo must leave one.
    assert version.tags["promotion.decision"] == "promoted", version.tags["promotion.reason"]
    assert version.current_stage == "Production"
    assert client.get_model_version_by_alias("toxic", "production").version == version.version

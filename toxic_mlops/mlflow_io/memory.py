"""The memory a logged model needs: peak RSS of a fresh Python process that loads it and scores.

The calling step's own process holds MLflow, scikit-learn, the splits and its other scorers, so
its RSS says nothing about the model. A child process started with the same interpreter and
environment (tracking URI, credentials) loads the model by URI through MLflow, as a server does,
scores the given comments in one call and reports its high-water marks as JSON on stdout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import mlflow

from toxic_mlops.contract import LOAD_RSS_METRIC, PEAK_RSS_METRIC
from toxic_mlops.errors import PipelineError

TIMEOUT_S = 900.0  # a large model on a busy machine loads in well under a minute

# Run in an empty folder: nothing of this project is importable, only what the model ships.
# The peak resident set is VmHWM of /proc/self/status (kB), the high-water mark of this process's
# own memory: on Linux, getrusage's ru_maxrss also carries the parent's peak RSS over fork/exec
# (a child of a 1.4 GB step reports 1.4 GB), so it is only the fallback elsewhere (macOS: bytes).
_CHILD = f"""
import json, resource, sys
import mlflow.pyfunc
import pandas as pd

def peak_mb():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6 if sys.platform == "darwin" else peak * 1024 / 1e6

uri, texts_file = sys.argv[1], sys.argv[2]
with open(texts_file, encoding="utf-8") as handle:
    texts = json.load(handle)
model = mlflow.pyfunc.load_model(uri)
loaded = peak_mb()
model.predict(pd.DataFrame({{"text": texts}}))
print(json.dumps({{{LOAD_RSS_METRIC!r}: loaded, {PEAK_RSS_METRIC!r}: peak_mb()}}))
"""


def _from_anywhere(uri: str) -> str:
    """uri with a relative sqlite path made absolute: the child runs in another folder, and the
    Makefile's default store, sqlite:///mlflow.db, is relative to the step's."""
    prefix = "sqlite:///"
    path = uri.removeprefix(prefix)
    if not uri.startswith(prefix) or path.startswith("/") or path.startswith(":memory:"):
        return uri
    return prefix + str(Path(path).resolve())


def _child_env(tmp: str) -> dict[str, str]:
    """The step's environment, with the tracking and registry URIs it actually uses; the model
    MLflow downloads lands in tmp (TMPDIR), removed with it."""
    return {
        **os.environ,
        "MLFLOW_TRACKING_URI": _from_anywhere(mlflow.get_tracking_uri()),
        "MLFLOW_REGISTRY_URI": _from_anywhere(mlflow.get_registry_uri()),
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        "TMPDIR": tmp,
    }


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def peak_memory(
    model_uri: str, texts: Sequence[str], timeout: float = TIMEOUT_S
) -> dict[str, float]:
    """{load_rss_mb, peak_rss_mb}: the child's peak RSS in MB once the model is loaded (MLflow,
    torch and the model's warm-up included) and after scoring `texts` in one predict call."""
    failed = f"could not measure the memory of {model_uri}"
    with tempfile.TemporaryDirectory(prefix="toxic-memory-") as tmp:
        texts_file = Path(tmp) / "texts.json"
        texts_file.write_text(json.dumps(list(texts)), encoding="utf-8")
        try:
            done = subprocess.run(
                [sys.executable, "-c", _CHILD, model_uri, str(texts_file)],
                cwd=tmp,
                env=_child_env(tmp),
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as error:
            raise PipelineError(f"{failed}: no answer within {timeout:.0f} s") from error
    if done.returncode != 0:
        raise PipelineError(
            f"{failed}: the child process exited with {done.returncode}: {_last_line(done.stderr)}"
        )
    try:
        figures = json.loads(_last_line(done.stdout))
        return {name: float(figures[name]) for name in (LOAD_RSS_METRIC, PEAK_RSS_METRIC)}
    except (ValueError, KeyError, TypeError) as error:
        raise PipelineError(f"{failed}: unexpected answer {_last_line(done.stdout)!r}") from error

"""What the benchmarks share: the machine, the command, texts to send, timing helpers, results.

Every benchmark ends with `record(name, report)`: the report, with the machine and the exact
command, is printed and written to bench/results/<name>-<UTC time>.json; `make bench-report`
turns those files into the tables of docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import requests

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SHARED_POSTS = ROOT.parent / "shared" / "data" / "civil_toxic_spans_posts.csv"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """`uname -m`, `nproc`, the CPU model and the versions that decide the speed."""
    import torch

    return {
        "uname_m": platform.machine(),
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
    }


def command() -> str:
    """The command that ran this benchmark, as typed from the project folder."""
    module = Path(sys.argv[0]).resolve().relative_to(ROOT).with_suffix("").as_posix()
    return " ".join(["python", "-m", module.replace("/", "."), *sys.argv[1:]])


def record(name: str, report: dict[str, Any]) -> Path:
    """Print the report and write it, with machine and command, as a new results file."""
    stamp = datetime.now(timezone.utc)
    result = {
        "benchmark": name,
        "utc": stamp.isoformat(timespec="seconds"),
        "machine": machine(),
        "command": command(),
        "report": report,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}-{stamp:%Y%m%dT%H%M%SZ}.json"
    partial = path.with_suffix(".json.part")
    partial.write_text(json.dumps(result, indent=2) + "\n")
    partial.replace(path)  # a results file is complete or absent
    print(json.dumps(result, indent=2))
    print(f"written: {path.relative_to(ROOT)}", file=sys.stderr)
    return path


def load_texts(count: int, seed: int = 0) -> tuple[list[str], str]:
    """Real Civil Comments posts when ../shared has them, generated sentences otherwise."""
    if SHARED_POSTS.is_file():
        texts = pd.read_csv(SHARED_POSTS)["comment_text"].dropna().astype(str).tolist()
        source = str(SHARED_POSTS.name)
    else:
        from tests.synthetic import make_comments

        texts = make_comments(count, seed).text.tolist()
        source = "tests/synthetic.py"
    rng = np.random.default_rng(seed)
    return [texts[i] for i in rng.integers(0, len(texts), size=count)], source


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000
    return {f"p{q}_ms": round(float(np.percentile(ms, q)), 2) for q in (50, 95, 99)}


def rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1)


def paired_speed_up(seconds: list[float], baseline_seconds: list[float]) -> float:
    """Throughput relative to the baseline: median over requests of baseline time / time, where
    the i-th entries of both lists timed the same request seconds apart (drift hits both)."""
    return round(
        statistics.median(b / s for s, b in zip(seconds, baseline_seconds, strict=True)), 3
    )


def requests_of(texts: list[str], batch: int) -> list[list[str]]:
    return [texts[start : start + batch] for start in range(0, len(texts), batch)]


def post(session: requests.Session, url: str, texts: list[str]) -> float:
    started = time.perf_counter()
    response = session.post(f"{url}/invocations", json={"inputs": texts}, timeout=120)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"HTTP {response.status_code}: {response.text[:300]}")
    return elapsed


def test_split(train_run: str) -> pd.DataFrame:
    """The test split a train run was trained against, for benchmarks that rescore it."""
    import tempfile

    import mlflow
    from mlflow.tracking import MlflowClient

    from toxic_mlops.contract import PREPROCESS_RUN_TAG, SPLITS_ARTIFACT

    preprocess_run = MlflowClient().get_run(train_run).data.tags.get(PREPROCESS_RUN_TAG)
    if not preprocess_run:
        raise SystemExit(
            f"train run {train_run} has no {PREPROCESS_RUN_TAG} tag (trained from a folder?)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        return pd.read_parquet(
            mlflow.artifacts.download_artifacts(
                run_id=preprocess_run, artifact_path=f"{SPLITS_ARTIFACT}/test.parquet", dst_path=tmp
            )
        )

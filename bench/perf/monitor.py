"""Benchmark: validate and monitor on real batches against a registered model, timed.

    MLFLOW_TRACKING_URI=sqlite:///bench/.runs/jigsaw_wiki/mlflow.db \
        python -m bench.perf.monitor --config configs/jigsaw_wiki.yaml

Batches (from ../shared/data): 3,000 rows of jigsaw_wiki_train.csv (the model's own source) and
3,000 Davidson tweets renamed to the Jigsaw columns (another source). Each step runs as a user
would run it (`python -m steps.validate / steps.monitor`); prints the verdicts, exit codes, times.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from bench.cli import bench_parser
from bench.common import ROOT, Summary, portable, record
from bench.data import SHARED


def batches(folder: Path, rows: int) -> dict[str, Path]:
    wiki = pd.read_csv(SHARED / "jigsaw_wiki_train.csv").sample(rows, random_state=5)
    tweets = pd.read_csv(SHARED / "davidson_train.csv").sample(rows, random_state=5)
    tweets = pd.DataFrame(
        {
            "comment_text": tweets["text"],
            "toxic": tweets["toxicity"],
            "identity_hate": tweets["identity_attack"],
        }
    )
    paths = {"wikipedia": folder / "wiki.csv", "tweets": folder / "tweets.csv"}
    wiki.drop(columns=["id"]).to_csv(paths["wikipedia"], index=False)
    tweets.to_csv(paths["tweets"], index=False)
    return paths


def run(step: str, *args: str) -> dict:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", f"steps.{step}", *args], cwd=ROOT, capture_output=True, text=True
    )
    said = [line for line in done.stdout.splitlines() if line.startswith(f"{step}:")]
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "exit_code": done.returncode,
        "said": said[-1] if said else done.stderr[-500:],
    }


def main() -> None:
    parser = bench_parser(__doc__, config="configs/jigsaw_wiki.yaml")
    parser.add_argument("--rows", type=int, default=3000)
    args = parser.parse_args()
    tracking_uri = os.environ.get("MLFLOW_TRACKING_URI")
    report = {"tracking_uri": portable(tracking_uri) if tracking_uri else None}
    with tempfile.TemporaryDirectory() as tmp:
        paths = batches(Path(tmp), args.rows)
        config = ["--config", args.config]
        report["validate tweets"] = run(
            "validate", *config, "--data", str(paths["tweets"]), "--require-labels", "false"
        )
        for name, path in paths.items():
            report[f"monitor {name}"] = run(
                "monitor", *config, "--data", str(path), "--fail-on", "drift"
            )
    record("monitor", report)


def summarize(report: dict) -> Summary:
    """Per step and batch: seconds, exit code and what the step said."""
    runs = {k: v for k, v in report.items() if isinstance(v, dict)}
    rows = [
        (name, found["seconds"], found["exit_code"], found["said"]) for name, found in runs.items()
    ]
    codes = ", ".join(f"{name} {found['exit_code']}" for name, found in runs.items())
    sentence = f"validate and monitor as a scheduler runs them, exit codes: {codes}."
    return Summary(sentence, ("step, batch", "seconds", "exit code", "said"), rows)


if __name__ == "__main__":
    main()

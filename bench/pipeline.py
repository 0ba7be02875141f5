"""Benchmark: the whole pipeline (`mlflow run . -e main`) on a real dataset, timed, with metrics.

    .venv/bin/python bench/pipeline.py --config configs/jigsaw_wiki.yaml \
        --source ../shared/data/jigsaw_wiki_train.csv [-P epochs=4 ...]

Runs in its own tracking store (bench/.runs/<config name>/) so it never touches ./mlflow.db, then
prints the machine, the command, wall time, seconds per epoch and the train run's metrics.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import torch
from mlflow.tracking import MlflowClient

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("-P", dest="params", action="append", default=[], help="extra name=value")
    args = parser.parse_args()

    store = ROOT / "bench" / ".runs" / Path(args.config).stem
    store.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "MLFLOW_TRACKING_URI": f"sqlite:///{store / 'mlflow.db'}",
    }
    command = [
        "mlflow",
        "run",
        ".",
        "-e",
        "main",
        "--env-manager",
        "local",
        "-P",
        f"config={args.config}",
        "-P",
        f"source={Path(args.source).resolve()}",
        "-P",
        "use_cache=false",
    ]
    for param in args.params:
        command += ["-P", param]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    output = done.stdout + done.stderr
    if done.returncode != 0:
        sys.exit(f"pipeline failed:\n{output[-4000:]}")

    train_run = re.findall(r"main: done; train run ([0-9a-f]{32})", output)[-1]
    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    run = client.get_run(train_run)
    epoch_seconds = [m.value for m in client.get_metric_history(train_run, "epoch_seconds")]
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads",
        "command": " ".join(command),
        "wall_seconds": round(seconds, 1),
        "seconds_per_epoch": [round(s, 1) for s in epoch_seconds],
        "metrics": {
            k: round(v, 4)
            for k, v in sorted(run.data.metrics.items())
            if not k.startswith("epoch_")
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

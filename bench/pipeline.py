"""Benchmark: the whole pipeline (`mlflow run . -e main`) on a real dataset, timed, with metrics.

    python -m bench.pipeline --config configs/jigsaw_wiki.yaml \
        --source ../shared/data/jigsaw_wiki_train.csv [-P epochs=4 ...]

Runs in its own tracking store (bench/.runs/<config name>/) so it never touches ./mlflow.db, then
prints the machine, the command, wall time, seconds per epoch and the train run's metrics.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from mlflow.tracking import MlflowClient

from bench.common import ROOT, record
from toxic_mlops.contract import REGISTRY_TAG_PREFIX


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

    main_run = re.findall(r"Run \(ID '([0-9a-f]{32})'\) succeeded", output)[-1]
    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    steps = client.get_run(main_run).data.tags
    train_run, evaluate_run = steps["pipeline.train_run"], steps["pipeline.evaluate_run"]
    register_run = steps.get("pipeline.register_run")
    epoch_seconds = [m.value for m in client.get_metric_history(train_run, "epoch_seconds")]
    epoch_auc = [m.value for m in client.get_metric_history(train_run, "epoch_val_macro_roc_auc")]
    evaluation = client.get_run(evaluate_run).data.metrics
    wanted = ("macro_roc_auc", "macro_pr_auc", "macro_f1", "roc_auc_", "accuracy")
    report = {
        "mlflow_command": " ".join(command),
        "wall_seconds": round(seconds, 1),
        "seconds_per_epoch": [round(s, 1) for s in epoch_seconds],
        "val_macro_roc_auc_per_epoch": [round(a, 4) for a in epoch_auc],
        "model_test": {
            k[5:]: round(v, 4)
            for k, v in sorted(evaluation.items())
            if k.startswith("test_") and any(w in k for w in wanted)
        },
        "baseline_test": {
            k[14:]: round(v, 4)
            for k, v in sorted(evaluation.items())
            if k.startswith("baseline_test_") and any(w in k for w in wanted)
        },
        "model_cost": {k: round(evaluation[k], 1) for k in ("latency_p50_ms", "comments_per_s")},
        "identity_bias": {
            k: round(v, 4)
            for k, v in sorted(evaluation.items())
            if k.startswith(("probe_", "bias_term", "baseline_probe_", "baseline_bias_term"))
        },
        "spans": {
            k: round(v, 4)
            for k, v in sorted(client.get_run(train_run).data.metrics.items())
            if k.startswith("spans_")
        },
        "registered": register_run,
    }
    if register_run:
        tags = client.get_run(register_run).data.tags
        report["gate"] = {k: v for k, v in tags.items() if k.startswith(REGISTRY_TAG_PREFIX)}
    record("pipeline", report)


if __name__ == "__main__":
    main()

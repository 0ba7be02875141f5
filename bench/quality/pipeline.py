"""Benchmark: the whole pipeline (`mlflow run . -e main`) on a real dataset, timed, with metrics.

    python -m bench.quality.pipeline --config configs/jigsaw_wiki.yaml \
        --source ../shared/data/jigsaw_wiki_train.csv [-P epochs=4 ...]

Runs in its own tracking store (bench/.runs/<config name>/) so it never touches ./mlflow.db, then
prints the machine, the command, wall time, seconds per epoch and the train run's metrics.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from mlflow.tracking import MlflowClient

from bench.cli import bench_parser
from bench.common import ROOT, Summary, figure, interval, portable, record
from toxic_mlops.contract import REGISTRY_TAG_PREFIX


def main() -> None:
    args = bench_parser(__doc__, config=True, source=True, params=True).parse_args()

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
        "config": portable(args.config),
        "mlflow_command": portable(" ".join(command)),
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


NAMES = {"macro_roc_auc": "test macro ROC-AUC", "macro_accuracy": "test accuracy (macro)"}
VERDICTS = {"true": "the gate promoted it", "false": "the gate did not promote it"}


def _pair(first: float, second: float) -> str:
    return f"{figure(first)} / {figure(second)}"


def _with_ci(figures: dict, key: str) -> str:
    if f"{key}_ci_low" not in figures:
        return figure(figures.get(key))
    return interval(figures[key], figures[f"{key}_ci_low"], figures[f"{key}_ci_high"])


def summarize(report: dict) -> Summary:
    """Test ROC-AUC per label of the model and TF-IDF + LR, the gate, time, bias and spans."""
    model, baseline = report["model_test"], report["baseline_test"]
    labels = sorted(k for k in model if k.startswith("roc_auc_") and not k.endswith("_ci_low"))
    labels = [k for k in labels if not k.endswith("_ci_high")]
    keys = ["macro_roc_auc", *(labels if len(labels) > 1 else ["macro_accuracy"])]
    rows = [
        (
            NAMES.get(k, f"test {k.replace('roc_auc_', 'ROC-AUC ')}"),
            _with_ci(model, k),
            _with_ci(baseline, k),
        )
        for k in keys
    ]
    per_epoch = figure(report["val_macro_roc_auc_per_epoch"])
    rows.append(("val macro ROC-AUC per epoch (0: wide path alone)", per_epoch, ""))
    if "probe_roc_auc" in (bias := report.get("identity_bias", {})):
        model_probe = _pair(bias["probe_roc_auc"], bias["probe_max_term_fpr"])
        baseline_probe = _pair(bias["baseline_probe_roc_auc"], bias["baseline_probe_max_term_fpr"])
        rows.append(("probe ROC-AUC / worst term FPR", model_probe, baseline_probe))
    if "spans_char_f1" in (spans := report.get("spans", {})):
        tagger = interval(*(spans[f"spans_char_f1{end}"] for end in ("", "_low", "_high")))
        rows.append(("span char F1 (right: word lexicon)", tagger, spans["spans_lexicon_char_f1"]))
    cost = _pair(report["model_cost"]["comments_per_s"], report["model_cost"]["latency_p50_ms"])
    rows.append(("comments/s / single-comment p50 ms", cost, ""))
    wall = f"{figure(report['wall_seconds'])} ({figure(report['seconds_per_epoch'])})"
    rows.append(("wall s (s per epoch)", wall, ""))
    promoted = report.get("gate", {}).get(f"{REGISTRY_TAG_PREFIX}promoted", "")
    registered = "it was registered" if report.get("registered") else "nothing was registered"
    wins = model["macro_roc_auc"] > baseline["macro_roc_auc"]
    sentence = (
        f"The whole chain on {config_name(report)} took {report['wall_seconds'] / 60:.0f} min; "
        f"the model {'beats' if wins else 'does not beat'} TF-IDF + LR on test macro ROC-AUC "
        f"({figure(model['macro_roc_auc'])} vs {figure(baseline['macro_roc_auc'])}) and "
        f"{VERDICTS.get(promoted, registered)}."
    )
    return Summary(sentence, ("figure", "model", "TF-IDF + LR"), rows)


def config_name(report: dict) -> str:
    """The config the chain ran with (older results name it only in the mlflow command)."""
    if "config" in report:
        return report["config"]
    found = re.search(r"config=<?([^\s,>]+)", report["mlflow_command"])
    return found.group(1) if found else "its config"


if __name__ == "__main__":
    main()

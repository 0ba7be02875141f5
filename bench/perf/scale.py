"""Benchmark: what the chain costs as the data grows: wall time and peak RSS per stage.

    nice python -m bench.perf.scale --config configs/jigsaw_wiki.yaml [--through "wide fits"] \
        --source ../shared/data/jigsaw_wiki_train.csv [--repeats 3] \
        --spans ../shared/data/toxic_spans_train.csv --sizes 25000,100000,400000

Each size runs in a fresh child process (so its peak RSS is its own) and goes through the
chain's stages as the steps call them, without MLflow: read (the download step's parquet
shards, its stratified sample and the preprocess step's read of it), preprocess (batch
validation, cleaning, splits), tokenizer, encode (bias mitigation, the respelling lexicon,
disguised copies, token ids), wide features (IDF and n-gram matrix), wide fits (liblinear per
label and its out-of-fold fits, then epoch 0's validation), each deep epoch (with its
validation), assess (val/test scores, thresholds), spans (the span tagger, on its own fixed
posts) and evaluate (the evaluate step: TF-IDF + LR, both scorers on val/test, bootstrap,
identity bias, evasion).

Per stage: wall time and peak RSS, the kernel's high-water mark (VmHWM of /proc/self/status,
reset at the stage's start by writing 5 to /proc/self/clear_refs): the exact peak, nothing
sampled. Growth exponents log(t2/t1)/log(n2/n1) between consecutive sizes; the whole data
(--target rows) extrapolated from the two largest sizes. --through stops after a stage;
--repeats runs every size that many times, the sizes taking turns (so a change of load falls on
all of them), and the curve takes each stage's median time and largest peak.

Rows: the source's real comments first (shuffled), then comments recombined from them: the
first half of one comment's words and the second half of another's, their labels averaged (a
half-toxic recombination is a fractional target, as on Civil Comments). A sub-label unknown on
a row whose first label is negative counts as 0, so every label's fit sees nearly every row, as
on Civil Comments where all six are known. The recombined rows repeat the real comments' words
and n-grams: the large sizes' quality figures mean nothing, only their cost does.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from bench.cli import bench_parser, overrides
from bench.common import ROOT, Summary, figure, portable, record
from bench.fitting import scorer
from toxic_mlops.config import Config, load_config

SHARD_ROWS = 250_000  # rows per parquet shard, as a hub dataset's split comes in several
TARGET_ROWS = 1_804_874  # Civil Comments' train split
GIB = 1 << 30
# What the bench runs by default: one deep epoch, one torch thread, the span tagger one epoch.
DEFAULTS = {"epochs": "1", "num_threads": "1"}
# Result names by --through: the whole chain, the wide path, and the first stages alone (one
# section of the benchmarks page for all of those, the newest shown).
RECORDS = {"evaluate": "scale", "wide fits": "scale-wide"}
FIRST_STAGES = "scale-stages"


# -- measuring ---------------------------------------------------------------------------------


def _status(field: str) -> int:
    """A /proc/self/status field in bytes (VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


# The stages --through can stop after (the deep epochs are named "epoch 1", "epoch 2", ...).
THROUGH = ("read", "preprocess", "tokenizer", "encode", "wide features", "wide fits", "evaluate")


class _ThroughDone(Exception):
    """The --through stage has ended: the stages after it are not run."""


class Stages:
    """Wall time and peak RSS of consecutive stages: start() closes the open one."""

    def __init__(self, through: str = THROUGH[-1]) -> None:
        self.found: dict[str, dict[str, float]] = {}
        self.facts: dict[str, Any] = {}
        self.through = through
        self._open: tuple[str, float, int] | None = None

    def start(self, name: str | None) -> None:
        """Close the open stage and open `name`; past the --through stage, stop the run."""
        if self._open is not None:
            stage, started, rss = self._open
            self._open = None
            self.found[stage] = {
                "seconds": round(time.perf_counter() - started, 2),
                "peak_rss_gb": round(_status("VmHWM") / GIB, 3),
                "start_rss_gb": round(rss / GIB, 3),
            }
            print(f"  {stage}: {self.found[stage]}", file=sys.stderr, flush=True)
            if stage == self.through and name is not None:
                raise _ThroughDone
        if name is not None:
            Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
            self._open = (name, time.perf_counter(), _status("VmRSS"))

    def before(self, module: ModuleType, function: str, stage: str) -> None:
        """Start `stage` whenever module.function is called (the core is not changed)."""
        original = getattr(module, function)

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            self.start(stage)
            return original(*args, **kwargs)

        setattr(module, function, wrapped)

    def after(
        self,
        module: ModuleType,
        function: str,
        stage: str,
        note: Callable[[Any], dict[str, Any]] | None = None,
    ) -> None:
        """Start `stage` when module.function returns; note(result) adds facts."""
        original = getattr(module, function)

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            if note is not None:
                self.facts.update(note(result))
            self.start(stage)
            return result

        setattr(module, function, wrapped)


# -- the rows ----------------------------------------------------------------------------------


def recombined(real: pd.DataFrame, rows: int, config: Config, seed: int = 0) -> pd.DataFrame:
    """rows rows: the real ones shuffled, then halves of two real comments joined (docstring)."""
    dataset = config.dataset
    text, labels = dataset.text_column, dataset.label_columns
    real = real[[text, *labels]].sample(frac=1.0, random_state=seed).reset_index(drop=True)
    first = real[labels[0]].to_numpy()
    for label in labels[1:]:
        unknown = real[label].isna().to_numpy() & (first < dataset.positive_threshold)
        real.loc[unknown, label] = 0.0
    if rows <= len(real):
        return real.iloc[:rows].reset_index(drop=True)
    rng = np.random.default_rng(seed)
    extra = rows - len(real)
    a = rng.integers(0, len(real), extra)
    b = (a + rng.integers(1, len(real), extra)) % len(real)  # never a itself
    words = [str(t).split() for t in real[text]]
    halves = [
        " ".join(words[i][: (len(words[i]) + 1) // 2] + words[j][len(words[j]) // 2 :])
        for i, j in zip(a.tolist(), b.tolist(), strict=True)
    ]
    values = real[labels].to_numpy(np.float64)
    made = pd.DataFrame({text: halves})
    made[labels] = (values[a] + values[b]) / 2
    return pd.concat([real, made], ignore_index=True)


def write_shards(frame: pd.DataFrame, folder: Path) -> list[Path]:
    paths = []
    for number, start in enumerate(range(0, len(frame), SHARD_ROWS)):
        path = folder / f"train-{number:05d}.parquet"
        frame.iloc[start : start + SHARD_ROWS].to_parquet(path, index=False)
        paths.append(path)
    return paths


# -- one size, in its own process --------------------------------------------------------------


def measure(
    config: Config, source: Path, rows: int, work: Path, through: str = "evaluate"
) -> dict[str, Any]:
    """Every stage of the chain on `rows` rows, in this process (up to `through`)."""
    import torch

    from toxic_mlops.data import preprocessing
    from toxic_mlops.data.download import load_sources
    from toxic_mlops.data.preprocessing import preprocess, read_raw
    from toxic_mlops.data.raw import sample_raw
    from toxic_mlops.evaluation.evaluate import evaluate
    from toxic_mlops.model import wide
    from toxic_mlops.model.assessment import assess
    from toxic_mlops.model.device import resolve_device, resolve_precision
    from toxic_mlops.model.training import fit
    from toxic_mlops.monitoring.validation import validate_batch
    from toxic_mlops.spans.training import with_spans

    stages = Stages(through)
    shards = write_shards(recombined(read_raw(source, config), rows, config), work)
    base_rss = _status("VmRSS")
    facts: dict[str, Any] = {}

    def chain() -> dict[str, Any]:
        """The stages in order; what the last ones found (the chain run to its end)."""
        stages.start("read")
        frame, _ = load_sources([str(p) for p in shards], [], work)
        sample = sample_raw(frame, config.dataset, config.sample.fraction, config.sample.seed)
        del frame
        sample.sample.to_parquet(work / "raw.parquet", index=False)
        del sample
        raw = read_raw(work / "raw.parquet", config)

        stages.start("preprocess")
        validate_batch(raw, config.dataset, config.normalization, config.validation)
        stages.before(preprocessing, "train_tokenizer", "tokenizer")
        prepared = preprocess(raw, config)
        del raw
        tokenizer_file = work / "tokenizer.json"
        prepared.tokenizer.save(str(tokenizer_file))

        stages.start("encode")
        stages.before(wide, "set_ngram_idf", "wide features")
        stages.after(wide, "ngram_matrix", "wide fits", lambda m: {"wide_nnz": int(m.nnz)})
        epochs = config.training.epochs
        device = resolve_device(config.training.device)
        facts.update(
            prepared.cleaning,
            torch_threads=torch.get_num_threads(),
            device=str(device),
            precision=resolve_precision(config.training.precision, device).name,
        )

        def on_epoch(epoch: Any) -> None:
            if epoch.epoch == 0:
                facts["wide_path_val_macro_roc_auc"] = round(epoch.val_macro_roc_auc, 4)
            if epoch.epoch < epochs:
                stages.start(f"epoch {epoch.epoch + 1}")

        fitted = fit(config, prepared.splits, tokenizer_file, on_epoch)
        stages.start("assess")
        trained = assess(fitted, config)
        stages.start("spans")
        trained, _ = with_spans(trained, config, work)
        stages.start("evaluate")
        evaluation = evaluate(prepared.splits, scorer(trained).predict_proba, config)
        return {
            "rows_train_encoded": len(fitted.encoded["train"]),
            "tokens_train": int(fitted.encoded["train"].tokens.size),
            "wide_solver": fitted.result.wide_solver,
            "val_macro_roc_auc": round(fitted.result.best.val_macro_roc_auc, 4),
            "test_macro_roc_auc": round(evaluation.test["model"]["macro_roc_auc"], 4),
        }

    try:
        facts.update(chain())
    except _ThroughDone:
        pass
    stages.start(None)
    return {
        "rows": rows,
        "base_rss_gb": round(base_rss / GIB, 3),
        "process_peak_rss_gb": max(s["peak_rss_gb"] for s in stages.found.values()),
        "stages": stages.found,
        "facts": {**stages.facts, **facts},
    }


# -- the curve ---------------------------------------------------------------------------------


def medians(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One run per size: each stage's median seconds and largest peak over that size's runs."""
    by_rows: dict[int, list[dict[str, Any]]] = {}
    for run in runs:
        by_rows.setdefault(run["rows"], []).append(run)
    merged = []
    for rows, same in sorted(by_rows.items()):
        stages = {}
        for name in same[0]["stages"]:
            found = [r["stages"][name] for r in same if name in r["stages"]]
            stages[name] = {
                "seconds": round(float(np.median([f["seconds"] for f in found])), 2),
                "peak_rss_gb": max(f["peak_rss_gb"] for f in found),
            }
        merged.append({"rows": rows, "stages": stages})
    return merged


def exponent(n1: float, v1: float, n2: float, v2: float) -> float:
    return round(math.log(v2 / v1) / math.log(n2 / n1), 3) if min(v1, v2) > 0 else float("nan")


def extrapolate(n1: float, v1: float, n2: float, v2: float, target: float) -> float:
    """The larger of the power law through both points and the straight line through them."""
    power = v2 * (target / n2) ** exponent(n1, v1, n2, v2) if min(v1, v2) > 0 else v2
    line = v2 + (v2 - v1) / (n2 - n1) * (target - n2)
    return max(power, line, v2)


def curve(runs: list[dict[str, Any]], target: int, epochs: int) -> dict[str, Any]:
    """Per stage: exponents of time and peak RSS between consecutive sizes, and the target's."""
    runs = sorted(runs, key=lambda r: r["rows"])
    names = list(runs[-1]["stages"])
    stages: dict[str, Any] = {}
    for name in names:
        points = [(r["rows"], r["stages"][name]) for r in runs if name in r["stages"]]
        found: dict[str, Any] = {
            "seconds": [p["seconds"] for _, p in points],
            "peak_rss_gb": [p["peak_rss_gb"] for _, p in points],
            "time_exponents": [
                exponent(n1, a["seconds"], n2, b["seconds"])
                for (n1, a), (n2, b) in itertools.pairwise(points)
            ],
            "rss_exponents": [
                exponent(n1, a["peak_rss_gb"], n2, b["peak_rss_gb"])
                for (n1, a), (n2, b) in itertools.pairwise(points)
            ],
        }
        if len(points) >= 2:
            (n1, a), (n2, b) = points[-2:]
            found["target_seconds"] = round(
                extrapolate(n1, a["seconds"], n2, b["seconds"], target), 1
            )
            found["target_peak_rss_gb"] = round(
                extrapolate(n1, a["peak_rss_gb"], n2, b["peak_rss_gb"], target), 2
            )
        stages[name] = found
    epoch_stages = [n for n in names if n.startswith("epoch ")]
    totals: dict[str, Any] = {}
    if all("target_seconds" in stages[n] for n in names):
        per_epoch = max(stages[n]["target_seconds"] for n in epoch_stages) if epoch_stages else 0
        other = sum(stages[n]["target_seconds"] for n in names if n not in epoch_stages)
        totals = {
            "target_peak_rss_gb": max(stages[n]["target_peak_rss_gb"] for n in names),
            "target_seconds_per_epoch": per_epoch,
            "target_seconds_without_epochs": round(other, 1),
            "target_hours_with_config_epochs": round((other + epochs * per_epoch) / 3600, 1),
        }
    return {"rows": [r["rows"] for r in runs], "stages": stages, "target": totals}


def plot(runs: list[dict[str, Any]], path: Path) -> None:
    """Log-log: seconds and peak RSS per stage against rows."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    runs = sorted(runs, key=lambda r: r["rows"])
    figure_ = Figure(figsize=(11, 4.5))
    axes = figure_.subplots(1, 2)
    for name in runs[-1]["stages"]:
        points = [(r["rows"], r["stages"][name]) for r in runs if name in r["stages"]]
        rows = [n for n, _ in points]
        axes[0].plot(rows, [max(p["seconds"], 0.01) for _, p in points], "o-", label=name)
        axes[1].plot(rows, [p["peak_rss_gb"] for _, p in points], "o-", label=name)
    for axis, title in zip(
        axes, ("wall time per stage (s)", "peak RSS per stage (GiB)"), strict=True
    ):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("rows")
        axis.set_title(title)
        axis.grid(True, which="both", alpha=0.3)
    axes[1].legend(fontsize=7, loc="upper left")
    figure_.tight_layout()
    figure_.savefig(path, dpi=110)


# -- command line ------------------------------------------------------------------------------


def child(args: Any, config: Config) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        found = measure(config, Path(args.source), args.child, Path(tmp), args.through)
    Path(args.out).write_text(json.dumps(found, indent=2))


def run_size(rows: int, argv: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "size.json"
        command = [sys.executable, "-m", "bench.perf.scale", *argv]
        command += ["--child", str(rows), "--out", str(out)]
        print(f"{rows:,} rows ...", file=sys.stderr, flush=True)
        done = subprocess.run(command, cwd=ROOT)
        if done.returncode != 0:
            return {"rows": rows, "failed": f"exit code {done.returncode}"}
        return json.loads(out.read_text())


def configured(args: Any) -> Config:
    config = load_config(args.config, overrides(args, **DEFAULTS))
    if args.spans:
        spans = replace(config.spans, sources=[str(Path(args.spans).resolve())], epochs=1)
        config = replace(config, spans=spans)
    return config


def main() -> None:
    parser = bench_parser(__doc__, config="configs/jigsaw_wiki.yaml", source=True, params=True)
    parser.add_argument("--spans", default="", help="span annotations (SemEval CSV) for spans")
    parser.add_argument("--sizes", default="25000,100000", help="rows, comma-separated")
    parser.add_argument("--target", type=int, default=TARGET_ROWS, help="rows to extrapolate to")
    parser.add_argument(
        "--plot", help="the log-log PNG (default docs/<result name>.png, '' = none)"
    )
    parser.add_argument(
        "--through",
        choices=THROUGH,
        default="evaluate",
        help="the last stage run (wide fits: the wide path's cost alone)",
    )
    parser.add_argument("--repeats", type=int, default=1, help="runs per size (medians)")
    parser.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--out", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not Path(args.source).is_file():  # else every size's child fails on it in turn
        parser.error(f"--source: no such file: {args.source}")
    config = configured(args)
    if args.child:
        child(args, config)
        return
    argv = sys.argv[1:]
    started = time.perf_counter()
    sizes = [int(n) for n in args.sizes.split(",")]
    runs = [run_size(rows, argv) for _ in range(args.repeats) for rows in sizes]
    done = medians([r for r in runs if "failed" not in r])
    report = {
        "config": portable(args.config),
        "source": Path(args.source).name,
        "overrides": overrides(args, **DEFAULTS),
        "through": args.through,
        "repeats": args.repeats,
        "load_average": list(os.getloadavg()),
        "runs": runs,
        "curve": curve(done, args.target, load_config(args.config).training.epochs),
        "target_rows": args.target,
        "seconds": round(time.perf_counter() - started, 1),
    }
    # A shorter chain is its own section of the benchmarks page, beside the whole chain's.
    name = RECORDS.get(args.through, FIRST_STAGES)
    drawn = f"docs/{name}.png" if args.plot is None else args.plot
    if drawn and len(done) >= 2:
        plot(done, ROOT / drawn)
        report["plot"] = drawn
    record(name, report)


def summarize(report: dict) -> Summary:
    """Per stage: seconds and peak RSS at each size, exponents, the target's extrapolation."""
    found = report["curve"]
    sizes = found["rows"]
    rows = []
    for name, stage in found["stages"].items():
        seconds = " / ".join(figure(s) for s in stage["seconds"])
        rss = " / ".join(figure(g) for g in stage["peak_rss_gb"])
        rows.append(
            (
                name,
                seconds,
                rss,
                figure(stage["time_exponents"]),
                figure(stage["rss_exponents"]),
                figure(stage.get("target_seconds")),
                figure(stage.get("target_peak_rss_gb")),
            )
        )
    target = found["target"]
    settings = ", ".join(f"{k}={v}" for k, v in report.get("overrides", {}).items())
    repeats = report.get("repeats", 1)
    sentence = (
        f"The chain's stages at {', '.join(f'{n:,}' for n in sizes)} rows of recombined real "
        f"comments ({report['source']}; {settings}"
        + (f"; median of {repeats} runs a size" if repeats > 1 else "")
        + "); extrapolated to "
        f"{report['target_rows']:,} rows: peak RSS {figure(target.get('target_peak_rss_gb'))} GB"
    )
    if report.get("through", "evaluate") == "evaluate":
        hours = figure(target.get("target_hours_with_config_epochs"))
        sentence += f", {hours} h with the config's epochs."
    else:
        sentence += f" (the stages through {report['through']} only)."
    columns = (
        "stage",
        "seconds",
        "peak RSS GB",
        "time exponents",
        "RSS exponents",
        f"s at {report['target_rows']:,}",
        f"GB at {report['target_rows']:,}",
    )
    return Summary(sentence, columns, rows)


if __name__ == "__main__":
    main()

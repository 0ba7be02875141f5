"""What the benchmarks share: the machine, the command, the record, timing helpers.

Every benchmark ends with `record(name, report)`: the report, with the machine and the command
(paths relative to the project folder, never a machine's own), is printed and written to
bench/results/<name>-<UTC time>.json; `make bench-report` renders the latest one per benchmark
in docs/benchmarks.md through the benchmark module's `summarize(report) -> Summary`.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import requests

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

# An absolute path: a "/" that starts a word (not the "/" of a URL or a model URI), or the path
# of a sqlite URI (sqlite:////abs/mlflow.db).
_ABSOLUTE = re.compile(r"(?:(?<=sqlite:///)|(?<![\w.:/~<-]))/[^\s'\"=,;:<>]+")


@dataclass(frozen=True)
class Summary:
    """What docs/benchmarks.md shows of one result: one sentence and one short table."""

    sentence: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def figure(value: Any, digits: int = 4) -> str:
    """A value as the page shows it: floats to `digits` significant digits (no exponent),
    NaN and None as n/a, lists and tuples comma-separated, anything else as text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, (list, tuple)):
        return ", ".join(figure(v, digits) for v in value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) or value == 0 or abs(value) >= 10 ** (digits - 1):
        return f"{round(value):,}" if abs(value) >= 10_000 else str(round(value))
    decimals = digits - 1 - math.floor(math.log10(abs(value)))
    return f"{round(value, decimals):.{decimals}f}".rstrip("0").rstrip(".")


def interval(value: float, low: float, high: float) -> str:
    """`value [low, high]`, each to 4 significant digits."""
    return f"{figure(value)} [{figure(low)}, {figure(high)}]"


def portable(text: str) -> str:
    """text with every absolute path made relative to the project folder (../shared/data/x for
    a sibling folder), or named `<local file x>` when it is elsewhere on the machine."""

    def relative(match: re.Match[str]) -> str:
        path = Path(match.group(0))
        if path.is_relative_to(ROOT):
            return path.relative_to(ROOT).as_posix() or "."
        if ROOT.parent != Path(ROOT.anchor) and path.is_relative_to(ROOT.parent):
            return f"../{path.relative_to(ROOT.parent).as_posix()}"
        return f"<local file {path.name}>"

    return _ABSOLUTE.sub(relative, text)


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
    """The command that ran this benchmark, as typed from the project folder (no machine paths)."""
    module = Path(sys.argv[0]).resolve().relative_to(ROOT).with_suffix("").as_posix()
    return " ".join(["python", "-m", module.replace("/", "."), *map(portable, sys.argv[1:])])


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


def post(
    session: requests.Session, url: str, texts: list[str] | bytes, timeout: float | None = 120
) -> float:
    """Seconds until the server answered 200 to {"inputs": texts}, or to a JSON body already
    encoded (bytes: a large request, not re-encoded at every send)."""
    sent = (
        {"data": texts, "headers": {"Content-Type": "application/json"}}
        if isinstance(texts, bytes)
        else {"json": {"inputs": texts}}
    )
    started = time.perf_counter()
    response = session.post(f"{url}/invocations", timeout=timeout, **sent)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"HTTP {response.status_code}: {response.text[:300]}")
    return elapsed

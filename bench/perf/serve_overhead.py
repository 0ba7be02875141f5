"""Benchmark: what the serving hardening costs per request.

    python -m bench.perf.serve_overhead --model-uri models:/toxic/Production [--rounds 5]

1. nginx to the model server without keep-alive over a unix socket (now) against keep-alive over
   loopback TCP (before): the same uvicorn stand-in (bench/failing_server.py) behind both
   configurations, 500 GETs of /ping per round each, alternated; median ms per request.
2. Scoring 10,000 real comments, encoded ENCODE_ROWS at a time into int32 arrays (now) against
   all at once into lists (before), in process, alternated: median seconds.
3. The guard around MLflow's `invocations` on a request MLflow answers at once, and
   `malloc_trim(0)` after scoring 1,000 comments of 3,000 characters: ms.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import mlflow
import requests

import toxic_mlops.serving.proxy as proxy
from bench.cli import bench_parser
from bench.common import ROOT, Summary, figure, record
from bench.data import load_texts, long_comments
from pyfunc import http_guard
from toxic_mlops.serving.model_server import BIN, free_port

LIMITS = {"body_limit": 1 << 20, "max_rows": 10, "rate_per_second": 10**6, "burst": 10**6}
# The configuration before this change: kept-alive connections to a TCP port.
KEEPALIVE = {
    "        server unix:${socket};\n": "        server ${socket};\n        keepalive 8;\n",
    "proxy_set_header Connection close;": 'proxy_set_header Connection "";',
}


def ping_ms(url: str, count: int) -> float:
    with requests.Session() as session:
        started = time.perf_counter()
        for _ in range(count):
            session.get(f"{url}/ping", timeout=10).raise_for_status()
        return (time.perf_counter() - started) / count * 1000


def proxy_cost(rounds: int, folder: Path) -> dict[str, float]:
    socket, port = proxy.socket_folder() / "stand-in.sock", free_port()
    servers = [
        subprocess.Popen(
            [str(BIN / "uvicorn"), *where, "bench.failing_server:app"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for where in (["--uds", str(socket)], ["--port", str(port)])
    ]
    template = proxy.TEMPLATE
    old_template = template.read_text()
    for now, before in KEEPALIVE.items():
        if now not in old_template:
            raise SystemExit(f"{template.name} no longer holds {now.strip()!r}: update KEEPALIVE")
        old_template = old_template.replace(now, before)
    (folder / "before.template").write_text(old_template)
    limits = {**LIMITS, "timeout": 30}
    times: dict[str, list[float]] = {"unix_no_keepalive": [], "tcp_keepalive": []}
    try:
        time.sleep(5)  # both uvicorn processes up
        proxy.lock_socket(socket)
        for name in ("now", "before"):
            (folder / name).mkdir()
        with proxy.Nginx(folder / "now", socket, "127.0.0.1", free_port(), "t", limits) as now:
            proxy.TEMPLATE = folder / "before.template"  # read when the config is rendered
            upstream = Path(f"127.0.0.1:{port}")
            before = proxy.Nginx(folder / "before", upstream, "127.0.0.1", free_port(), "t", limits)
            with before:
                for _ in range(rounds):
                    times["unix_no_keepalive"].append(ping_ms(now.url, 500))
                    times["tcp_keepalive"].append(ping_ms(before.url, 500))
    finally:
        proxy.TEMPLATE = template
        for server in servers:
            server.terminate()
            server.wait()
        shutil.rmtree(socket.parent, ignore_errors=True)
    return {name: round(statistics.median(values), 3) for name, values in times.items()}


def slicing_and_trim_cost(model_uri: str, rounds: int) -> dict[str, float]:
    scorer = mlflow.pyfunc.load_model(model_uri).unwrap_python_model().scorer
    texts, _ = load_texts(10_000)
    ways = {
        "now": lambda: scorer.predict_proba(texts),  # int32 ids, encoded 1,024 at a time
        "before": lambda: scorer.predict_ids(scorer.encoder.encode(texts)),  # all at once
    }
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(rounds):
        for name, score in ways.items():
            started = time.perf_counter()
            score()
            times[name].append(time.perf_counter() - started)
    trims = []
    for _ in range(rounds):
        scorer.predict_proba(long_comments(1_000, 3_000))  # what a 3 MB request leaves behind
        started = time.perf_counter()
        http_guard.release_memory()
        trims.append(time.perf_counter() - started)
    return {
        **{f"score_10000_{n}_s": round(statistics.median(t), 3) for n, t in times.items()},
        "malloc_trim_ms": round(statistics.median(trims) * 1000, 2),
    }


def guard_ms(count: int = 100_000) -> float:
    """The guard's own work on a request MLflow answers at once."""
    settings = http_guard.GuardSettings(32 << 20, "text", "")
    answer = type("Answer", (), {"status": 200})()
    started = time.perf_counter()
    for _ in range(count):
        http_guard.guarded(lambda *_: answer, dict, settings, b"{}", "application/json", 0, 0)
    return round((time.perf_counter() - started) / count * 1000, 4)


def main() -> None:
    parser = bench_parser(__doc__, model_uri="models:/toxic/Production")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        nginx = proxy_cost(args.rounds, Path(folder))
    record(
        "serve_overhead",
        {
            "model_uri": args.model_uri,
            "rounds": args.rounds,
            "nginx_ms_per_request": nginx,
            **slicing_and_trim_cost(args.model_uri, args.rounds),
            "guard_ms": guard_ms(),
        },
    )


def summarize(report: dict) -> Summary:
    """Each hardening's cost against the way before it, per request or per call."""
    nginx = report["nginx_ms_per_request"]
    rows = [
        ("nginx to the server, ms per /ping", nginx["unix_no_keepalive"], nginx["tcp_keepalive"]),
        ("scoring 10,000 comments, s", report["score_10000_now_s"], report["score_10000_before_s"]),
        ("`malloc_trim(0)` after 1,000 long comments, ms", report["malloc_trim_ms"], "none"),
        ("the guard around `invocations`, ms", report["guard_ms"], "none"),
    ]
    sentence = (
        f"Through nginx, a /ping takes {figure(nginx['unix_no_keepalive'])} ms over a unix socket "
        f"without keep-alive against {figure(nginx['tcp_keepalive'])} ms kept alive over TCP; "
        f"10,000 comments score in {figure(report['score_10000_now_s'])} s in slices against "
        f"{figure(report['score_10000_before_s'])} s at once; medians of {report['rounds']} rounds."
    )
    return Summary(sentence, ("cost", "now", "before"), rows)


if __name__ == "__main__":
    main()

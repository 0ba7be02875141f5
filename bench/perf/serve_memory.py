"""Benchmark: the model server's memory before, during and after huge requests.

    python -m bench.perf.serve_memory --model-uri models:/toxic/Production [--requests 3] \
        [--rows 10000] [--chars 3000] [NAME=VALUE ...]

Starts `mlflow models serve` (one worker; NAME=VALUE settings in its environment), scores a few
small requests, then sends --requests requests of --rows comments of --chars characters each
(10,000 x 3,000 = a 30 MB body), then small ones again. The RSS of the uvicorn process that holds
the model is sampled every 10 ms: idle before, the peak during the huge requests, and what it
still holds 3 s after them and after the small ones.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import requests

from bench.cli import bench_parser
from bench.common import Summary, figure, post, record
from bench.data import load_texts, long_comments
from toxic_mlops.serving.model_server import ModelServer

MB = 1 << 20


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def uvicorn_pid(parent: int) -> int:
    """The uvicorn process under `mlflow models serve` (the one that loads the model)."""
    children = {parent}
    for _ in range(3):
        for status in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = status.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) in children:
                children.add(int(status.parent.name))
    for pid in sorted(children - {parent}):
        if b"uvicorn" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return pid
    raise RuntimeError("no uvicorn process under the model server")


class Sampler:
    """The peak RSS of a process, sampled every 10 ms in a thread while in the `with` block."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self.stop = pid, 0.0, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.wait(0.01):
            self.peak = max(self.peak, rss_mb(self.pid))

    def __enter__(self) -> Sampler:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()


def settle(pid: int, seconds: float = 3) -> float:
    time.sleep(seconds)
    return round(rss_mb(pid), 1)


def main() -> None:
    parser = bench_parser(__doc__, model_uri="models:/toxic/Production")
    parser.add_argument("--requests", type=int, default=3)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--chars", type=int, default=3_000)
    parser.add_argument("settings", nargs="*", help="NAME=VALUE for the server's environment")
    args = parser.parse_args()

    settings = dict(setting.split("=", 1) for setting in args.settings)
    small, _ = load_texts(256, seed=1)
    small_body = json.dumps({"inputs": small}).encode()
    huge = json.dumps({"inputs": long_comments(args.rows, args.chars)}).encode()
    with (
        ModelServer(args.model_uri, env={**os.environ, **settings}) as server,
        requests.Session() as session,
    ):
        pid = uvicorn_pid(server.process.pid)

        def score(body: bytes) -> float:
            return round(post(session, server.url, body, timeout=None), 2)

        for _ in range(3):
            score(small_body)
        idle = settle(pid)
        seconds, after_each = [], []
        with Sampler(pid) as sampler:
            for _ in range(args.requests):
                seconds.append(score(huge))
                after_each.append(settle(pid))
        small_seconds = [score(small_body) for _ in range(5)]
        after_small = settle(pid)
    record(
        "serve_memory",
        {
            "model_uri": args.model_uri,
            "settings": settings,
            "huge_request": {
                "rows": args.rows,
                "chars": args.chars,
                "mb": round(len(huge) / MB, 1),
            },
            "rss_mb": {
                "idle_before": idle,
                "peak_during": round(sampler.peak, 1),
                "after_each_huge": after_each,
                "after_small_ones": after_small,
            },
            "huge_request_seconds": seconds,
            "small_request_seconds": small_seconds,
        },
    )


def summarize(report: dict) -> Summary:
    """The server's RSS idle, at its peak, after each huge request and after small ones."""
    rss, huge = report["rss_mb"], report["huge_request"]
    rows = [
        ("idle before", rss["idle_before"], ""),
        ("peak during the huge requests", rss["peak_during"], ""),
        ("3 s after each huge request", rss["after_each_huge"], report["huge_request_seconds"]),
        ("after the small requests", rss["after_small_ones"], report["small_request_seconds"]),
    ]
    sentence = (
        f"{len(report['huge_request_seconds'])} requests of {huge['rows']:,} comments × "
        f"{huge['chars']:,} characters ({figure(huge['mb'])} MB each) to one worker of "
        f"`{report['model_uri']}`: the RSS peaks at "
        f"{figure(rss['peak_during'] / rss['idle_before'], 3)} times idle."
    )
    return Summary(sentence, ("RSS of the server", "MB", "seconds per request"), rows)


if __name__ == "__main__":
    main()

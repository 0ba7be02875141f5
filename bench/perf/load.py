"""Load test of the real model server: concurrent clients, good and bad requests, loopback only.

    python -m bench.perf.load --model-uri models:/toxic/Production [--clients 8 --seconds 60]

Bounded in time (--seconds) and count (--max-requests). Passes when no request got a 5xx, none
lost its connection, and /ping still answers afterwards; prints the figures as JSON.
"""

from __future__ import annotations

import collections
import json
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from bench.cli import bench_parser
from bench.common import Summary, percentiles, record
from bench.data import load_texts
from toxic_mlops.serving.model_server import ModelServer

JSON = "application/json"


def request_mix(texts: list[str]) -> list[tuple[str, object, str, int]]:
    """(name, body, content type, expected status); bodies as bytes or JSON-able objects."""
    return [
        ("single", {"inputs": [texts[0]]}, JSON, 200),
        ("batch16", {"inputs": texts[:16]}, JSON, 200),
        (
            "dataframe_split",
            {"dataframe_split": {"columns": ["text"], "data": [[t] for t in texts[:4]]}},
            JSON,
            200,
        ),
        ("empty_and_emoji", {"inputs": ["", "  ", "😡 你是 идиот"]}, JSON, 200),
        ("one_megabyte", {"inputs": ["a" * 1_000_000]}, JSON, 200),
        ("numbers", {"inputs": [1, 2, 3]}, JSON, 400),
        ("nulls", {"inputs": [None]}, JSON, 400),
        ("wrong_key", {"texts": ["hi"]}, JSON, 400),
        ("missing_column", {"dataframe_split": {"columns": ["c"], "data": [["hi"]]}}, JSON, 400),
        ("invalid_json", b'{"inputs": [', JSON, 400),
        ("wrong_content_type", b"hello", "text/plain", 415),
        ("too_many_rows", {"inputs": ["x"] * 10_001}, JSON, 400),
    ]


def main() -> None:
    parser = bench_parser(__doc__, model_uri="models:/toxic/Production")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--max-requests", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    texts, _ = load_texts(256)
    mix = [
        (name, body if isinstance(body, bytes) else json.dumps(body).encode(), ctype, expected)
        for name, body, ctype, expected in request_mix(texts)
    ]
    counts: collections.Counter[str] = collections.Counter()
    unexpected: collections.Counter[str] = collections.Counter()
    timings: list[float] = []
    lock = threading.Lock()
    budget = iter(range(args.max_requests))

    def client(seed: int, url: str, deadline: float) -> None:
        rng = random.Random(seed)
        with requests.Session() as session:
            while time.monotonic() < deadline and next(budget, None) is not None:
                name, body, ctype, expected = rng.choice(mix)
                started = time.perf_counter()
                try:
                    response = session.post(
                        f"{url}/invocations", data=body, headers={"Content-Type": ctype}, timeout=60
                    )
                    outcome = str(response.status_code)
                except requests.RequestException as error:
                    outcome = f"connection error: {type(error).__name__}"
                with lock:
                    timings.append(time.perf_counter() - started)
                    counts[outcome] += 1
                    if outcome != str(expected):
                        unexpected[f"{name}: expected {expected}, got {outcome}"] += 1

    with ModelServer(args.model_uri, workers=args.workers) as served:
        url = served.url
        started = time.perf_counter()
        deadline = time.monotonic() + args.seconds
        with ThreadPoolExecutor(args.clients) as pool:
            list(pool.map(lambda seed: client(seed, url, deadline), range(args.clients)))
        elapsed = time.perf_counter() - started
        ping = requests.get(f"{url}/ping", timeout=10).status_code

    server_errors = sum(n for status, n in counts.items() if status.startswith("5"))
    dropped = sum(n for status, n in counts.items() if status.startswith("connection"))
    report = {
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "requests": sum(counts.values()),
        "requests_per_s": round(sum(counts.values()) / elapsed, 1),
        "status_counts": dict(sorted(counts.items())),
        "unexpected": dict(unexpected),
        "server_errors_5xx": server_errors,
        "dropped_connections": dropped,
        "ping_after": ping,
        "latency_all_requests": percentiles(timings),
    }
    record("load", report)
    if server_errors or dropped or ping != 200 or unexpected:
        sys.exit(1)


def summarize(report: dict) -> Summary:
    """Requests, statuses, server errors, dropped connections and latency under load."""
    latency = report["latency_all_requests"]
    rows = [
        ("requests (per s)", f"{report['requests']:,} ({report['requests_per_s']})"),
        *((f"status {status}", n) for status, n in report["status_counts"].items()),
        ("unexpected statuses", sum(report["unexpected"].values())),
        (
            "5xx, dropped connections",
            f"{report['server_errors_5xx']}, {report['dropped_connections']}",
        ),
        ("/ping afterwards", report["ping_after"]),
        (
            "latency p50 / p95 / p99, ms",
            f"{latency['p50_ms']} / {latency['p95_ms']} / {latency['p99_ms']}",
        ),
    ]
    passed = (
        not (report["server_errors_5xx"] or report["dropped_connections"] or report["unexpected"])
        and report["ping_after"] == 200
    )
    sentence = (
        f"{report['clients']} concurrent clients for {report['seconds']} s of good and malformed "
        f"requests: {'passed' if passed else 'failed'} (to pass: no 5xx, no dropped connection, "
        "every status as expected, /ping still 200 afterwards)."
    )
    return Summary(sentence, ("figure", "value"), rows)


if __name__ == "__main__":
    main()

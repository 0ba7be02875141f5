"""Benchmark: does an environment setting make the model server faster? A/B on one machine.

    MLFLOW_TRACKING_URI=sqlite:///bench/.runs/jigsaw_wiki/mlflow.db python -m \
        bench.perf.serve_ab --model-uri models:/toxic-wiki/Production MALLOC_ARENA_MAX=1 ...

Starts two `mlflow models serve` of the same model, A as is and B with the given NAME=VALUE
settings, and sends both the same 256-comment requests in alternating order, several rounds.
Prints B's speed-up over A as the median of per-request paired ratios (> 1: B is faster), which
a shared VM's drift hits alike. Note: a setting that makes B's idle threads spin (e.g.
OMP_WAIT_POLICY=ACTIVE) also slows A, so read such a result as "costs the neighbours".
"""

from __future__ import annotations

import os
import statistics

import requests

from bench.cli import bench_parser
from bench.common import Summary, figure, paired_speed_up, post, record, requests_of
from bench.data import load_texts
from toxic_mlops.serving.model_server import ModelServer


def main() -> None:
    parser = bench_parser(__doc__, model_uri="models:/toxic/Production")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("settings", nargs="+", help="NAME=VALUE for server B")
    args = parser.parse_args()

    settings = dict(setting.split("=", 1) for setting in args.settings)
    texts, source = load_texts(2048)
    times: dict[str, list[float]] = {"A": [], "B": []}
    with (
        ModelServer(args.model_uri) as server_a,
        ModelServer(args.model_uri, env={**os.environ, **settings}) as server_b,
        requests.Session() as session,
    ):
        urls = {"A": server_a.url, "B": server_b.url}
        for round_number in range(args.rounds + 1):  # round 0 warms both up
            for request in requests_of(texts, args.batch):
                order = "AB" if round_number % 2 else "BA"
                seconds = {name: post(session, urls[name], request) for name in order}
                if round_number:
                    for name in order:
                        times[name].append(seconds[name])
    record(
        "serve_ab",
        {
            "texts": source,
            "settings": settings,
            "median_ms": {n: round(statistics.median(t) * 1000, 1) for n, t in times.items()},
            "b_speed_up": paired_speed_up(times["B"], times["A"]),
            "pairs": len(times["A"]),
        },
    )


def summarize(report: dict) -> Summary:
    """Median ms per request of A and B, and B's paired speed-up."""
    settings = report.get("settings")
    named = " ".join(f"{k}={v}" for k, v in settings.items()) if settings else "its settings"
    rows = [(f"server {n}, median ms per request", ms) for n, ms in report["median_ms"].items()]
    rows.append(("B's speed-up (median of paired ratios)", report["b_speed_up"]))
    sentence = (
        f"Server B with {named} runs {figure(report['b_speed_up'])} times as fast as A over "
        f"{report['pairs']} paired requests (> 1: B is faster)."
    )
    return Summary(sentence, ("figure", "value"), rows)


if __name__ == "__main__":
    main()

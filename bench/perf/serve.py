"""Serving benchmark: bare network forward vs in-process pyfunc predict vs the real model server.

    python -m bench.perf.serve --model-uri models:/toxic/Production [--workers 1] \
        [--time-server-predict]

Texts: ../shared/data/civil_toxic_spans_posts.csv when present (real Civil Comments posts),
the bundled sample's comments otherwise. Starts `mlflow models serve` on a free loopback port,
measures, stops it, and prints one JSON report: the overhead of each layer is the gap between
its rows.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mlflow
import pandas as pd
import requests
import torch

from bench.cli import bench_parser
from bench.common import (
    ROOT,
    Summary,
    figure,
    paired_speed_up,
    percentiles,
    post,
    rate,
    record,
    requests_of,
)
from bench.data import load_texts
from toxic_mlops.serving.model_server import ModelServer


def forward_tensors(
    scorer, request: list[str], sort: bool = True
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The tensors predict() builds for one request: sorted by length, padded per chunk.

    sort=False pads chunks in arrival order instead, to show what the sorting saves.
    """
    sequences = scorer.encoder.encode(request)
    order = list(range(len(sequences)))
    if sort:
        order.sort(key=lambda i: len(sequences[i]), reverse=True)
    return [
        scorer.encoder.pad([sequences[i] for i in order[start : start + scorer.spec.batch_size]])
        for start in range(0, len(order), scorer.spec.batch_size)
    ]


def throughput(
    model,
    scorer,
    url: str,
    texts: list[str],
    batch: int,
    rounds: int,
    settle_seconds: float,
    predict_log: Path | None = None,
) -> dict:
    """comments/s of the bare forward, in-process predict and the server, on the same requests.

    Throughput is a sustained rate, so each layer gets all requests back to back (a block), as a
    busy server does; a round runs one block per layer and the order of the layers flips every
    round, so that whoever runs first in a round does not always meet colder caches. Rates use the
    median time per request. The ratios are medians of paired ratios (the same request in the
    same round, seconds apart), which cancels most of a shared VM's drift (±15 % within minutes).
    With predict_log (--time-server-predict), `server_predict` is the time of the same predict
    call inside the server, so the server's gap splits into predict and everything around it.
    """
    times: dict[str, list[float]] = {
        "bare_forward": [],
        "bare_forward_unsorted": [],
        "in_process": [],
        "server": [],
    }
    server_predict: list[float] = []

    def timed(layer: str, request: list[str], session: requests.Session) -> float:
        if layer == "server":
            # This process's OpenMP threads may spin-wait for a while after torch work; on 2
            # cores they would take CPU from the server. --settle-ms lets them go idle first.
            time.sleep(settle_seconds)
            return post(session, url, request)
        if layer == "in_process":
            frame = pd.DataFrame({"text": request})
            started = time.perf_counter()
            model.predict(frame)
            return time.perf_counter() - started
        tensors = forward_tensors(scorer, request, sort=layer == "bare_forward")
        # Only the bare forward needs inference mode from outside: predict() and the server set
        # their own, and calling predict() inside it would not be what users (or the server) do.
        with torch.inference_mode():
            started = time.perf_counter()
            for token_ids, lengths in tensors:
                scorer.network(token_ids, lengths)
            return time.perf_counter() - started

    with requests.Session() as session:
        for round_number in range(rounds + 1):  # round 0 warms everything up
            for layer in list(times) if round_number % 2 else list(reversed(times)):
                seconds = [timed(layer, request, session) for request in requests_of(texts, batch)]
                if round_number:
                    times[layer].extend(seconds)
                    if layer == "server" and predict_log:
                        lines = predict_log.read_text().split()
                        server_predict.extend(float(line) for line in lines[-len(seconds) :])
    if server_predict:
        times["server_predict"] = server_predict

    def paired(layer: str, baseline: str) -> float:
        return paired_speed_up(times[layer], times[baseline])

    return {
        "comments_per_s": {name: rate(batch, statistics.median(v)) for name, v in times.items()},
        "paired_ratios": {
            "server/in_process": paired("server", "in_process"),
            "in_process/bare_forward": paired("in_process", "bare_forward"),
            "bare_forward/unsorted": paired("bare_forward", "bare_forward_unsorted"),
            **(
                {"server_predict/in_process": paired("server_predict", "in_process")}
                if server_predict
                else {}
            ),
        },
        "pairs": len(times["server"]),
    }


def in_process_single(model, texts: list[str]) -> dict[str, float]:
    timings = []
    for text in texts:
        started = time.perf_counter()
        model.predict(pd.DataFrame({"text": [text]}))
        timings.append(time.perf_counter() - started)
    return percentiles(timings)


def server_single(url: str, texts: list[str], concurrency: int) -> dict[str, float]:
    chunks = [texts[i::concurrency] for i in range(concurrency)]

    def client(chunk: list[str]) -> list[float]:
        with requests.Session() as session:
            post(session, url, chunk[:1])  # open the connection before timing
            return [post(session, url, [text]) for text in chunk]

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        timings = [t for result in pool.map(client, chunks) for t in result]
    return {
        **percentiles(timings),
        "requests_per_s": rate(len(timings), time.perf_counter() - started),
    }


def main() -> None:
    parser = bench_parser(__doc__, model_uri="models:/toxic/Production")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--server-threads", type=int, default=0, help="OMP_NUM_THREADS per worker")
    parser.add_argument("--comments", type=int, default=2048, help="comments per throughput test")
    parser.add_argument("--single", type=int, default=400, help="single-comment requests")
    parser.add_argument("--rounds", type=int, default=5, help="timed passes over the comments")
    parser.add_argument(
        "--settle-ms", type=float, default=0, help="pause before each timed server request"
    )
    parser.add_argument(
        "--time-server-predict",
        action="store_true",
        help="also time predict inside the server (bench/server_hook/sitecustomize.py)",
    )
    args = parser.parse_args()

    texts, source = load_texts(args.comments)
    model = mlflow.pyfunc.load_model(args.model_uri)
    scorer = model.unwrap_python_model().scorer
    report = {
        "model_uri": args.model_uri,
        "texts": source,
        "median_tokens": statistics.median(len(s) for s in scorer.encoder.encode(texts)),
        "quantized": getattr(scorer.spec, "quantize", False),  # older models predate the option
        "server_workers": args.workers,
        "server_threads_per_worker": args.server_threads or "default",
        "settle_ms": args.settle_ms,
        "in_process_single": in_process_single(model, texts[: args.single]),
    }
    env = {
        **os.environ,
        **({"OMP_NUM_THREADS": str(args.server_threads)} if args.server_threads else {}),
    }
    predict_log = None
    if args.time_server_predict:
        predict_log = Path(tempfile.mkdtemp()) / "server_predict_seconds.txt"
        predict_log.touch()
        hook = str(ROOT / "bench" / "server_hook")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [hook, env.get("PYTHONPATH")]))
        env["TOXIC_BENCH_PREDICT_LOG"] = str(predict_log)
    with ModelServer(args.model_uri, env=env, workers=args.workers) as served:
        url = served.url
        with requests.Session() as session:  # is the first request slow (no warm-up)?
            first = post(session, url, texts[:1])
            report["server_first_request_ms"] = round(first * 1000, 2)
        for batch in (64, 256, 2048):  # sorting only matters past serving.batch_size (256)
            report[f"comments_per_s@{batch}"] = throughput(
                model, scorer, url, texts, batch, args.rounds, args.settle_ms / 1000, predict_log
            )
        report["server_single_c1"] = server_single(url, texts[: args.single], 1)
        report["server_single_c8"] = server_single(url, texts[: args.single], 8)
    report["ratios@256"] = report["comments_per_s@256"]["paired_ratios"]
    record("serve", report)


def summarize(report: dict) -> Summary:
    """comments/s per layer and request size, the paired ratios, single-comment latency."""
    sizes = [k.split("@")[1] for k in report if k.startswith("comments_per_s@")]
    at = {size: report[f"comments_per_s@{size}"] for size in sizes}
    rows = [
        (f"{name.replace('_', ' ')}, comments/s", *(at[s]["comments_per_s"][name] for s in sizes))
        for name in ("bare_forward", "in_process", "server")
    ]
    rows += [
        (f"{pair} (paired)", *(at[s]["paired_ratios"][pair] for s in sizes))
        for pair in ("server/in_process", "in_process/bare_forward")
    ]
    single, local = report["server_single_c1"], report["in_process_single"]
    sentence = (
        f"One comment per request takes {figure(single['p50_ms'])} ms p50 at the server "
        f"({figure(local['p50_ms'])} ms in-process); at 256 comments per request the server "
        f"reaches {figure(report['ratios@256']['server/in_process'])} of in-process `predict`."
    )
    return Summary(sentence, ("layer", *(f"{s} comments/request" for s in sizes)), rows)


if __name__ == "__main__":
    main()

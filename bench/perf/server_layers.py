"""Benchmark: which layer between `predict` and the HTTP server costs time, in-process.

    MLFLOW_TRACKING_URI=sqlite:///bench/.runs/jigsaw_wiki/mlflow.db \
        python -m bench.perf.server_layers --model-uri models:/toxic-wiki/Production

On the same 64-comment requests, interleaved, median per request: `predict` on the calling
thread, `predict` from a 40-thread pool (the server's thread hop), and MLflow's own
`scoring_server.invocations` on the JSON body (parsing, schema, predict, response building).
"""

from __future__ import annotations

import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import mlflow
import pandas as pd
from mlflow.pyfunc.scoring_server import invocations

from bench.cli import bench_parser
from bench.common import Summary, figure, record
from bench.data import load_texts


def main() -> None:
    parser = bench_parser(__doc__, model_uri="models:/toxic/Production")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()

    texts, source = load_texts(2048)
    model = mlflow.pyfunc.load_model(args.model_uri)
    schema = model.metadata.get_input_schema()
    pool = ThreadPoolExecutor(40)
    layers = {
        "predict": lambda r: model.predict(pd.DataFrame({"text": r})),
        "predict_from_pool_thread": lambda r: pool.submit(
            model.predict, pd.DataFrame({"text": r})
        ).result(),
        "scoring_server_invocations": lambda r: invocations(
            json.dumps({"inputs": r}), "application/json", model, schema
        ),
    }
    requests = [texts[i : i + args.batch] for i in range(0, len(texts), args.batch)]
    times: dict[str, list[float]] = {name: [] for name in layers}
    for round_number in range(args.rounds + 1):  # round 0 warms up
        for request in requests:
            for name, call in layers.items():
                started = time.perf_counter()
                call(request)
                if round_number:
                    times[name].append(time.perf_counter() - started)
    rates = {name: round(args.batch / statistics.median(t)) for name, t in times.items()}
    record(
        "server_layers",
        {
            "texts": source,
            "comments_per_s": rates,
            "ratio_to_predict": {n: round(r / rates["predict"], 3) for n, r in rates.items()},
        },
    )


def summarize(report: dict) -> Summary:
    """comments/s per layer and its ratio to plain `predict`."""
    ratios = report["ratio_to_predict"]
    rows = [(name, rate, ratios[name]) for name, rate in report["comments_per_s"].items()]
    sentence = (
        f"The server's thread hop runs at {figure(ratios['predict_from_pool_thread'])} and "
        f"MLflow's request handling at {figure(ratios['scoring_server_invocations'])} of "
        "plain `predict`."
    )
    return Summary(sentence, ("layer", "comments/s", "ratio to predict"), rows)


if __name__ == "__main__":
    main()

"""Toxic spans: char F1 on a held-out fifth of the SemEval-2021 Task 5 train split, and cost.

    python -m bench.quality.spans [--config configs/sample.yaml] [--threads 1]

Trains the config's classifier on its (bundled, offline) data, then the span methods on 4/5 of
../shared/data/toxic_spans_train.csv (configs/toxic.yaml's `spans` settings), as the train step
does; reports the task's character F1 on the held-out fifth beside the word lexicon learnt on
the same 4/5, and times a 256-comment request with and without `explain` in-process
(ToxicityModel.predict on real Civil Comments posts).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, replace
from pathlib import Path

import pandas as pd
import torch

from bench.cli import bench_parser
from bench.common import ROOT, Summary, figure, interval, record
from bench.data import POSTS, SPANS, config_source, sampled_comments
from bench.fitting import fit_model, saved_tokenizer, scorer
from pyfunc.explain import EXPLANATION_COLUMN
from pyfunc.model import EXPLAIN_PARAM, ToxicityModel
from toxic_mlops.config import load_config
from toxic_mlops.data.download import default_cache_dir
from toxic_mlops.data.preprocessing import prepare
from toxic_mlops.spans.metrics import parse_span_posts
from toxic_mlops.spans.training import with_spans

DEFAULT_CONFIG = "configs/sample.yaml"


def main() -> None:
    parser = bench_parser(__doc__, config=DEFAULT_CONFIG)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--requests", type=int, default=5)
    parser.add_argument("--spans-file", type=Path, default=SPANS)
    parser.add_argument("--posts-file", type=Path, default=POSTS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    threads = {"num_threads": str(args.threads)}
    config = load_config(ROOT / args.config, threads)
    spans = replace(
        load_config(ROOT / "configs" / "toxic.yaml").spans, sources=[str(args.spans_file)]
    )
    config = replace(config, spans=spans)
    prepared = prepare(config, config_source(config))
    with saved_tokenizer(prepared) as tokenizer_file:
        started = time.perf_counter()
        trained = fit_model(config, prepared, tokenizer_file).trained
        classifier_seconds = time.perf_counter() - started
        started = time.perf_counter()
        trained, report = with_spans(trained, config, default_cache_dir())
        span_seconds = time.perf_counter() - started
    assert report is not None
    posts = parse_span_posts(pd.read_csv(args.spans_file), args.spans_file.name)
    model = ToxicityModel()
    model.scorer = scorer(trained)
    texts, source = sampled_comments(256, args.posts_file)
    plain, explained = _timings(model, texts, args.requests)
    figures = asdict(report)
    figures.pop("examples")
    record(
        "spans",
        {
            **figures,
            "posts": len(posts),
            "spans_config": asdict(spans) | {"sources": [args.spans_file.name]},
            "classifier_config": args.config,
            "train_seconds": {
                "classifier": round(classifier_seconds, 1),
                "spans": round(span_seconds, 1),
            },
            "request": {"comments": len(texts), "source": source},
            "plain_ms_median": round(1000 * statistics.median(plain), 1),
            "explained_ms_median": round(1000 * statistics.median(explained), 1),
            "explained_over_plain": round(
                statistics.median(explained) / statistics.median(plain), 2
            ),
        },
    )


def _timings(
    model: ToxicityModel, texts: list[str], rounds: int
) -> tuple[list[float], list[float]]:
    """Seconds per request, plain and explained, alternated so drift hits both."""
    frame = pd.DataFrame({"text": texts})
    answer = model.predict(None, frame, params={EXPLAIN_PARAM: True})  # warm-up, and a check
    assert len(answer[EXPLANATION_COLUMN]) == len(texts)
    plain, explained = [], []
    for _ in range(rounds):
        for params, times in ((None, plain), ({EXPLAIN_PARAM: True}, explained)):
            started = time.perf_counter()
            model.predict(None, frame, params=params)
            times.append(time.perf_counter() - started)
    return plain, explained


def summarize(report: dict) -> Summary:
    """Char F1 on the held-out fifth per method, and what explain costs a 256-comment request."""
    rows = [
        (
            f"{report['method']} (shipped)",
            interval(report["char_f1"], *report["char_f1_interval"]),
        ),
        ("word lexicon, same training posts", report["lexicon_char_f1"]),
        (f"{report['alternative']} path of the classifier", report["alternative_char_f1"]),
        ("plain request, 256 comments, ms (median)", report["plain_ms_median"]),
        ("with explain, ms (median)", report["explained_ms_median"]),
    ]
    f1, lexicon = figure(report["char_f1"]), figure(report["lexicon_char_f1"])
    sentence = (
        f"On {report['posts_held_out']:,} held-out posts the {report['method']} scores char F1 "
        f"{f1} against the word lexicon's {lexicon}; explaining a request costs "
        f"{figure(report['explained_over_plain'])} times the plain request."
    )
    return Summary(sentence, ("spans from / cost", "char F1 / value"), rows)


if __name__ == "__main__":
    main()

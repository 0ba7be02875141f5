"""Toxic spans: char F1 on a held-out fifth of the SemEval-2021 Task 5 train split, and cost.

    python -m bench.spans [--config configs/sample.yaml] [--threads 1]

Trains the config's classifier on its (bundled, offline) data, then the span methods on 4/5 of
../shared/data/toxic_spans_train.csv (configs/toxic.yaml's `spans` settings), as the train step
does; reports the task's character F1 on the held-out fifth beside the word lexicon learnt on
the same 4/5, and times a 256-comment request with and without `explain` in-process
(ToxicityModel.predict on real Civil Comments posts).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

import pandas as pd
import torch

from bench.common import ROOT, SHARED_POSTS, load_texts, record
from pyfunc.explain import EXPLANATION_COLUMN
from pyfunc.model import EXPLAIN_PARAM, ToxicityModel
from pyfunc.scoring import Scorer
from toxic_mlops.config import load_config
from toxic_mlops.data.download import default_cache_dir, load_sources
from toxic_mlops.data.preprocessing import preprocess
from toxic_mlops.data.raw import sample_raw
from toxic_mlops.model.assessment import assess
from toxic_mlops.model.training import fit
from toxic_mlops.spans.metrics import parse_span_posts
from toxic_mlops.spans.training import with_spans

SPANS_FILE = SHARED_POSTS.parent / "toxic_spans_train.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/sample.yaml")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--requests", type=int, default=5)
    parser.add_argument("--spans-file", type=Path, default=SPANS_FILE)
    parser.add_argument("--posts-file", type=Path, default=SHARED_POSTS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    threads = {"num_threads": str(args.threads)}
    config = load_config(ROOT / args.config, threads)
    spans = replace(
        load_config(ROOT / "configs" / "toxic.yaml").spans, sources=[str(args.spans_file)]
    )
    config = replace(config, spans=spans)
    with tempfile.TemporaryDirectory() as tmp:
        raw, _ = load_sources([str(ROOT / s) for s in config.dataset.sources], [], Path(tmp))
        prepared = preprocess(
            sample_raw(raw, config.dataset, 1.0, config.sample.seed).sample, config
        )
        tokenizer_file = Path(tmp) / "tokenizer.json"
        prepared.tokenizer.save(str(tokenizer_file))
        started = time.perf_counter()
        trained = assess(fit(config, prepared.splits, tokenizer_file), config)
        classifier_seconds = time.perf_counter() - started
        started = time.perf_counter()
        trained, report = with_spans(trained, config, default_cache_dir())
        span_seconds = time.perf_counter() - started
    assert report is not None
    posts = parse_span_posts(pd.read_csv(args.spans_file), args.spans_file.name)
    model = ToxicityModel()
    model.scorer = Scorer(trained.fitted.result.network, trained.fitted.encoder, trained.spec)
    texts, source = _request(args.posts_file, 256)
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


def _request(posts_file: Path, count: int) -> tuple[list[str], str]:
    """Real Civil Comments posts as the payload (bench.common's, when not in ../shared)."""
    if not posts_file.is_file():
        return load_texts(count)
    texts = pd.read_csv(posts_file)["comment_text"].dropna().astype(str)
    return texts.sample(count, random_state=0).tolist(), posts_file.name


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


if __name__ == "__main__":
    main()

"""Benchmark: does a deep epoch beat epoch 0 (the fitted wide path)? The core, without MLflow.

    nice python -m bench.deep_options --config configs/jigsaw_wiki.yaml \
        --source ../shared/data/jigsaw_wiki_train.csv [-P ngram_folds=5 -P epochs=3 ...]

Preprocesses the source as the preprocess step does, fits the config's network (1 torch thread
unless -P num_threads says otherwise) and TF-IDF + LR on the same split, and records the val
macro ROC-AUC of every epoch and each label's test ROC-AUC of both. For choosing options
quickly; `bench.pipeline` is the real pipeline.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench.common import record
from toxic_mlops.config import load_config
from toxic_mlops.data.dataset import TEXT, standardize
from toxic_mlops.data.download import read_table
from toxic_mlops.data.preprocessing import preprocess
from toxic_mlops.evaluation.baseline import TfidfBaseline
from toxic_mlops.evaluation.metrics import roc_auc_per_label
from toxic_mlops.model.assessment import assess
from toxic_mlops.model.training import fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("-P", dest="params", action="append", default=[], help="name=value")
    args = parser.parse_args()
    overrides = dict(p.split("=", 1) for p in args.params)
    overrides.setdefault("num_threads", "1")
    sample_fraction = overrides.pop("sample_fraction", None)
    config = load_config(args.config, overrides)
    labels, threshold = config.dataset.label_columns, config.dataset.positive_threshold
    raw, _ = standardize(read_table(Path(args.source), args.source), config.dataset)
    if sample_fraction:
        raw = raw.sample(frac=float(sample_fraction), random_state=config.sample.seed)
    started = time.perf_counter()
    prepared = preprocess(raw, config)
    matrix = prepared.embeddings.matrix if prepared.embeddings else None
    trained = assess(fit(config, prepared.splits, _saved_tokenizer(prepared), None, matrix), config)
    splits = prepared.splits
    baseline = TfidfBaseline(config.normalization).fit(
        splits["train"][TEXT].tolist(), splits["train"][labels].to_numpy(), threshold
    )
    test_targets = splits["test"][labels].to_numpy()
    baseline_test = roc_auc_per_label(
        test_targets, baseline.predict_proba(splits["test"][TEXT].tolist()), labels, threshold
    )
    baseline_val = roc_auc_per_label(
        splits["val"][labels].to_numpy(),
        baseline.predict_proba(splits["val"][TEXT].tolist()),
        labels,
        threshold,
    )
    history = trained.fitted.result.history
    record(
        f"deep_options-{config.dataset.name}",
        {
            "config": args.config,
            "overrides": overrides,
            "embeddings": prepared.embeddings.info() if prepared.embeddings else None,
            "seconds": round(time.perf_counter() - started, 1),
            "val_macro_roc_auc_per_epoch": {
                r.epoch: round(r.val_macro_roc_auc, 4) for r in history
            },
            "best_epoch": trained.fitted.result.best_epoch,
            "baseline_val_macro_roc_auc": round(sum(baseline_val.values()) / len(labels), 4),
            "test_roc_auc": {
                label: {
                    "model": round(trained.metrics[f"test_roc_auc_{label}"], 4),
                    "baseline": round(baseline_test[label], 4),
                }
                for label in labels
            },
        },
    )


def _saved_tokenizer(prepared) -> Path:
    path = Path("/tmp") / f"deep_options-{time.time_ns()}-tokenizer.json"
    prepared.tokenizer.save(str(path))
    return path


if __name__ == "__main__":
    main()

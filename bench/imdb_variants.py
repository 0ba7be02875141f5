"""Benchmark: IMDB test accuracy of the real network, per variant, on the project's own split.

    nice python -m bench.imdb_variants --source ../shared/data/imdb_train.csv.gz \
        [-P embedding_dim=50 -P pretrained_embeddings=bench/.cache/glove.6B.50d.txt] \
        -V wide:epochs=0,ngram_c=100 -V stacked:ngram_c=100,ngram_folds=5,epochs=4

Splits and tokenises `configs/imdb.yaml`'s data as the preprocess step does (-P: overrides that
preprocessing needs too, such as embeddings), then trains each variant (-V: training/model
overrides; epochs=0 is the fitted wide path alone) in this process and reports validation macro
AUC per epoch, the kept epoch, and test accuracy at 0.5 and at the tuned threshold, with seconds.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, roc_auc_score

from bench.common import ROOT, record
from bench.cross_source import fit_variant, parse_variants
from toxic_mlops.config import load_config
from toxic_mlops.data.dataset import TEXT, standardize
from toxic_mlops.data.download import read_table
from toxic_mlops.data.preprocessing import preprocess

CONFIG = ROOT / "configs" / "imdb.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True)
    parser.add_argument("-P", dest="params", action="append", default=[], help="name=value")
    parser.add_argument("-V", dest="variants", action="append", default=[], help="name:k=v,k=v")
    args = parser.parse_args()
    overrides = {"num_threads": "1", **dict(p.split("=", 1) for p in args.params)}
    config = load_config(CONFIG, overrides)
    raw, _ = standardize(read_table(Path(args.source), args.source), config.dataset)
    prepared = preprocess(raw, config)
    tokenizer_file = Path("/tmp") / f"imdb_variants-{time.time_ns()}-tokenizer.json"
    prepared.tokenizer.save(str(tokenizer_file))
    label = config.dataset.label_columns[0]
    test = prepared.splits["test"]
    truth = test[label].to_numpy() >= config.dataset.positive_threshold
    report: dict = {"overrides": overrides, "rows": {n: len(s) for n, s in prepared.splits.items()}}
    for name, varied in parse_variants(args.variants).items():
        started = time.perf_counter()
        predict, thresholds, history, best = fit_variant(config, varied, prepared, tokenizer_file)
        scores = np.asarray(predict(test[TEXT].tolist()))[:, 0]
        report[name] = {
            "overrides": varied,
            "val_macro_roc_auc_per_epoch": history,
            "best_epoch": best,
            "test_accuracy_at_0.5": round(float(accuracy_score(truth, scores >= 0.5)), 4),
            "test_accuracy_at_threshold": round(
                float(accuracy_score(truth, scores >= thresholds[label])), 4
            ),
            "test_roc_auc": round(float(roc_auc_score(truth, scores)), 4),
            "seconds": round(time.perf_counter() - started, 1),
        }
        print(name, report[name], flush=True)
    record("imdb_variants", report)


if __name__ == "__main__":
    main()

"""Study: which n-gram weighting lets the wide path be as good as TF-IDF + LR?

    MLFLOW_TRACKING_URI=sqlite:///bench/.runs/jigsaw_wiki/mlflow.db \\
        python -m bench.studies.wide_features --config configs/jigsaw_wiki.yaml \\
        --preprocess-run <run id> [--max-len 100 1024] [--c 4 30 100]

Builds the wide path's own sparse input (`toxic_mlops.model.wide.ngram_matrix`) on a preprocess
run's splits, fits scikit-learn's liblinear logistic regression on it per setting, and prints
validation and test ROC-AUC (and accuracy at 0.5) of the first label, beside the project's
TF-IDF word 1-2 gram baseline on the same rows. No network training: this isolates the features.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from bench.cli import bench_parser
from bench.common import Summary, record
from pyfunc.encoding import TextEncoder
from pyfunc.network import ToxicityNet
from pyfunc.network_config import NGRAM_WEIGHTINGS, NetworkConfig
from toxic_mlops.config import load_config
from toxic_mlops.contract import SPLITS_ARTIFACT, TOKENIZER_ARTIFACT
from toxic_mlops.data.dataset import TEXT
from toxic_mlops.evaluation.baseline import TfidfBaseline
from toxic_mlops.model.batches import encode_split
from toxic_mlops.model.wide import ngram_matrix, set_ngram_idf

SPLITS = ("train", "val", "test")


def scores(truth: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    return {
        "roc_auc": round(float(roc_auc_score(truth, probability)), 4),
        "accuracy": round(float(((probability >= 0.5) == truth).mean()), 4),
    }


def main() -> None:
    parser = bench_parser(__doc__, config=True)
    parser.add_argument("--preprocess-run", required=True)
    parser.add_argument("--max-len", type=int, nargs="+", default=[100, 1024])
    parser.add_argument("--c", type=float, nargs="+", default=[4.0, 30.0])
    args = parser.parse_args()

    config = load_config(Path(args.config))
    dataset = config.dataset
    label = dataset.label_columns[0]
    normalizer = config.normalization
    report: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(mlflow.artifacts.download_artifacts(run_id=args.preprocess_run, dst_path=tmp))
        splits = {n: pd.read_parquet(folder / SPLITS_ARTIFACT / f"{n}.parquet") for n in SPLITS}
        tokenizer = folder / TOKENIZER_ARTIFACT
        truth = {n: splits[n][label].to_numpy() >= dataset.positive_threshold for n in SPLITS}

        baseline = TfidfBaseline(normalizer).fit(
            splits["train"][TEXT].tolist(), splits["train"][[label]].to_numpy(), 0.5
        )
        for name in ("val", "test"):
            probability = baseline.predict_proba(splits[name][TEXT].tolist())[:, 0]
            report[f"baseline TF-IDF words 1-2 + LR C=4, {name}"] = scores(truth[name], probability)

        for max_len in args.max_len:
            encoder = TextEncoder.from_file(tokenizer, normalizer, max_len)
            encoded = {
                n: encode_split(encoder, splits[n][TEXT].tolist(), splits[n][[label]].to_numpy())
                for n in SPLITS
            }
            for weighting in NGRAM_WEIGHTINGS:
                network = ToxicityNet(
                    NetworkConfig(
                        vocab_size=encoder.tokenizer.get_vocab_size(),
                        num_labels=1,
                        ngram_buckets=config.model.ngram_buckets or 2**20,
                        ngram_weighting=weighting,
                    )
                )
                if weighting == "tfidf":
                    set_ngram_idf(network, encoder, encoded["train"])
                features = {n: ngram_matrix(network, encoder, encoded[n]) for n in SPLITS}
                for c in args.c:
                    model = LogisticRegression(C=c, solver="liblinear", max_iter=1000)
                    model.fit(features["train"], truth["train"])
                    for name in ("val", "test"):
                        probability = model.predict_proba(features[name])[:, 1]
                        key = f"wide path {weighting}, {max_len} tokens, C={c:g}, {name}"
                        report[key] = scores(truth[name], probability)
                        print(f"{key}: {report[key]}", flush=True)
    record("wide_features", report)


def summarize(report: dict) -> Summary:
    """Validation and test ROC-AUC of the first label per feature setting (val/test pairs)."""
    settings = sorted({key.rsplit(", ", 1)[0] for key in report})
    rows = [
        (setting, report[f"{setting}, val"]["roc_auc"], report[f"{setting}, test"]["roc_auc"])
        for setting in settings
    ]
    best = max(settings, key=lambda s: report[f"{s}, val"]["roc_auc"])
    sentence = f"Liblinear on the wide path's own input: the best on validation is {best}."
    return Summary(sentence, ("features", "val ROC-AUC", "test ROC-AUC"), rows)


if __name__ == "__main__":
    main()

"""Benchmark: identity bias (template probe, term-based Jigsaw metric) of the model vs TF-IDF + LR.

    python -m bench.bias --config configs/jigsaw_wiki.yaml \
        --source ../shared/data/jigsaw_wiki_train.csv [--mitigation none blind ...] \
        [--epochs 0] [--bias-source ../shared/data/davidson_train.csv] [-P num_threads=1 ...]

Trains in this process on the config's splits of one source (no MLflow), once per mitigation
(`training.bias_mitigation`), and reports per scorer: val and test macro ROC-AUC, the probe's
AUC and per-term false-positive rates at the first label's threshold tuned on validation, and
the term-based bias metric on the test split. --epochs 0 keeps the wide path alone (epoch 0).
--bias-source: another source's labelled texts (all rows) scored for the term-based metric too
(`cross_*`), where terms have far more mentions than in one test split.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score

from bench.common import record
from pyfunc.scoring import Scorer
from toxic_mlops.config import Config, load_config, override
from toxic_mlops.data.dataset import TEXT, standardize
from toxic_mlops.data.preprocessing import preprocess
from toxic_mlops.evaluation.baseline import TfidfBaseline
from toxic_mlops.evaluation.bias import IdentityBias, term_bias
from toxic_mlops.evaluation.evaluate import scored_identity_bias
from toxic_mlops.evaluation.identity import TermMatcher, flat_terms
from toxic_mlops.evaluation.metrics import macro, roc_auc_per_label
from toxic_mlops.model.assessment import assess
from toxic_mlops.model.training import fit


def _scorer_report(
    predict, splits: dict[str, pd.DataFrame], config: Config
) -> tuple[dict[str, float], IdentityBias]:
    dataset = config.dataset
    labels, threshold = dataset.label_columns, dataset.positive_threshold
    scores, bias = scored_identity_bias(predict, splits, config)
    figures = {
        f"{n}_macro_roc_auc": macro(
            roc_auc_per_label(splits[n][labels].to_numpy(np.float32), scores[n], labels, threshold)
        )
        for n in ("val", "test")
    }
    return {**figures, **bias.metrics(), "threshold": bias.probe.threshold}, bias


def _cross_source_bias(predict, frame: pd.DataFrame | None, config: Config) -> dict[str, float]:
    """The term-based bias metric on another source's labelled texts (more mentions per term)."""
    if frame is None:
        return {}
    terms = flat_terms(config.bias.identity_terms)
    mentions = TermMatcher(terms, config.normalization).mentions(frame["text"].tolist())
    scores = predict(frame["text"].tolist())[:, 0]
    truth = frame["label"].to_numpy() >= config.dataset.positive_threshold
    found = term_bias(mentions, truth, scores, 50, 10)
    return {
        "cross_roc_auc": float(roc_auc_score(truth, scores)),
        **{f"cross_{k}": v for k, v in found.metrics().items()},
    }


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {k: round(float(v), 4) for k, v in values.items()}


def _worst_terms(bias: IdentityBias, count: int = 5) -> list[dict]:
    table = bias.probe.per_term.sort_values("fpr", ascending=False).head(count)
    return [
        {
            "term": r.term,
            "fpr": round(r.fpr, 3),
            "mean_non_toxic_score": round(r.mean_non_toxic_score, 3),
        }
        for r in table.itertuples()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--mitigation", nargs="+", default=["none"])
    parser.add_argument("--epochs", type=int, default=-1, help="-1: the config's")
    parser.add_argument(
        "--bias-source", help="CSV of another source, scored for term bias (e.g. Davidson)"
    )
    parser.add_argument("--bias-columns", default="text,toxicity", help="its text,label")
    parser.add_argument("-P", dest="params", action="append", default=[], help="name=value")
    args = parser.parse_args()

    config = load_config(args.config, dict(p.split("=", 1) for p in args.params))
    raw, _ = standardize(pd.read_csv(args.source), config.dataset)
    other = None
    if args.bias_source:
        text, label = args.bias_columns.split(",")
        other = pd.read_csv(args.bias_source)[[text, label]].dropna()
        other.columns = ["text", "label"]
    started = time.perf_counter()
    prepared = preprocess(raw, config)
    splits = prepared.splits
    report: dict = {
        "source": Path(args.source).name,
        "config": args.config,
        "rows": {n: len(part) for n, part in splits.items()},
        "bias_source": Path(args.bias_source).name if args.bias_source else None,
        "identity_terms": sum(len(t) for t in config.bias.identity_terms.values()),
        "scorers": {},
    }
    labels = config.dataset.label_columns
    baseline = TfidfBaseline(config.normalization).fit(
        splits["train"][TEXT].tolist(),
        splits["train"][labels].to_numpy(),
        config.dataset.positive_threshold,
    )
    figures, bias = _scorer_report(baseline.predict_proba, splits, config)
    figures.update(_cross_source_bias(baseline.predict_proba, other, config))
    report["scorers"]["TF-IDF + LR"] = {
        **_rounded(figures),
        "worst_probe_terms": _worst_terms(bias),
    }
    print("TF-IDF + LR", _rounded(figures), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer_file = Path(tmp) / "tokenizer.json"
        prepared.tokenizer.save(str(tokenizer_file))
        for method in args.mitigation:
            settings = override(config, {"training.bias_mitigation": method}).training
            if args.epochs >= 0:  # 0 (the wide path alone) is below what a config may ask
                settings = replace(settings, epochs=args.epochs)
            fitted = fit(replace(config, training=settings), splits, tokenizer_file)
            trained = assess(fitted, config)
            scorer = Scorer(fitted.result.network, fitted.encoder, trained.spec)
            figures, bias = _scorer_report(scorer.predict_proba, splits, config)
            figures.update(_cross_source_bias(scorer.predict_proba, other, config))
            name = f"model, bias_mitigation={method}"
            report["scorers"][name] = {
                **_rounded(figures),
                "best_epoch": fitted.result.best_epoch,
                "train_rows": len(fitted.encoded["train"]),
                "worst_probe_terms": _worst_terms(bias),
            }
            print(name, report["scorers"][name], flush=True)
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["torch_threads"] = torch.get_num_threads()
    record("bias", report)


if __name__ == "__main__":
    main()

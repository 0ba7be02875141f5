"""Benchmark: trained on one source, scored on others; the model vs TF-IDF + LR, paired.

    nice python -m bench.cross_source --config configs/jigsaw_wiki.yaml \
        --source ../shared/data/jigsaw_wiki_train.csv \
        [-P epochs=3 ...] [-V name:ngram_c=8,epochs=1 ...]

Preprocesses and splits the source as the preprocess step does, fits TF-IDF + LR and the config's
model (or, with -V, each variant instead: training/model overrides on the same splits;
epochs=0 is the fitted wide path alone) in this process, then
scores every other labelled source in ../shared/data with the first label's column: ROC-AUC
with its support, a percentile-bootstrap 95 % interval and P(model > TF-IDF + LR) over paired
resamples of the rows (the project's own bootstrap). Also each scorer's own test macro AUC and
the template probe (identity terms x toxic / non-toxic templates). The other sources:
Davidson tweets (`toxicity`), Jigsaw Wikipedia comments (`toxic`) and real Civil Comments posts
(toxicity = 1 - the share of raters who said "not toxic"; pre-selected as likely toxic, so its
negatives are hard ones). A source equal to the training one is skipped.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from bench.common import ROOT, record
from pyfunc.scoring import Scorer
from toxic_mlops.config import Config, EvaluationConfig, load_config, override
from toxic_mlops.data.dataset import TEXT, standardize
from toxic_mlops.data.download import read_table
from toxic_mlops.data.preprocessing import preprocess
from toxic_mlops.evaluation.baseline import TfidfBaseline
from toxic_mlops.evaluation.bootstrap import intervals, resampled_macro_auc, win_probability
from toxic_mlops.evaluation.metrics import macro, roc_auc_per_label
from toxic_mlops.evaluation.probe import run_probe
from toxic_mlops.model.assessment import assess
from toxic_mlops.model.training import fit

SHARED = ROOT.parent / "shared" / "data"


@dataclass(frozen=True)
class Target:
    name: str
    file: str
    text_column: str
    label_column: str
    inverted: bool = False  # the label is 1 - the column


TARGETS = (
    Target("davidson", "davidson_train.csv", "text", "toxicity"),
    Target("jigsaw_wiki", "jigsaw_wiki_train.csv", "comment_text", "toxic"),
    Target("civil_posts", "civil_toxic_spans_posts.csv", "comment_text", "frac_not_toxic", True),
)


def _load_target(target: Target) -> pd.DataFrame:
    frame = pd.read_csv(SHARED / target.file, usecols=[target.text_column, target.label_column])
    frame = frame.dropna()
    label = frame[target.label_column].astype(float)
    return pd.DataFrame(
        {
            "text": frame[target.text_column].astype(str),
            "label": 1 - label if target.inverted else label,
        }
    )


def _cross_figures(
    truth: np.ndarray, scores: dict[str, np.ndarray], settings: EvaluationConfig
) -> dict[str, dict[str, float]]:
    targets = truth[:, None].astype(np.float32)
    names = list(scores)
    resampled = resampled_macro_auc(
        targets, [scores[n][:, None] for n in names], ["x"], 0.5, settings
    )
    positives = int((truth >= 0.5).sum())
    result = {}
    for index, name in enumerate(names):
        auc = roc_auc_per_label(targets, scores[name][:, None], ["x"], 0.5)["x"]
        ci = intervals({"auc": resampled[index]}, settings.confidence)
        result[name] = {
            "roc_auc": round(auc, 4),
            "ci_low": round(ci["auc_ci_low"], 4),
            "ci_high": round(ci["auc_ci_high"], 4),
        }
        if index > 0:  # paired against the baseline, which comes first
            result[name]["p_better_than_baseline"] = round(
                win_probability(
                    targets, scores[name][:, None], scores[names[0]][:, None], ["x"], 0.5, settings
                ),
                3,
            )
    return {"support": {"positives": positives, "negatives": len(truth) - positives}, **result}


def parse_variants(specs: list[str]) -> dict[str, dict[str, str]]:
    variants: dict[str, dict[str, str]] = {} if specs else {"model": {}}
    for spec in specs:
        name, _, pairs = spec.partition(":")
        variants[name] = dict(pair.split("=", 1) for pair in pairs.split(",") if pair)
    return variants


def fit_variant(config: Config, overrides: dict[str, str], prepared, tokenizer_file: Path):
    overrides = dict(overrides)
    epochs = overrides.pop("epochs", None)
    varied = override(config, overrides) if overrides else config
    if epochs is not None:  # 0 (the wide path alone) is below what a config may ask
        varied = replace(varied, training=replace(varied.training, epochs=int(epochs)))
    matrix = prepared.embeddings.matrix if prepared.embeddings else None
    fitted = fit(varied, prepared.splits, tokenizer_file, None, matrix)
    trained = assess(fitted, varied)
    history = {r.epoch: round(r.val_macro_roc_auc, 4) for r in fitted.result.history}
    scorer = Scorer(fitted.result.network, fitted.encoder, trained.spec)
    return scorer.predict_proba, trained.spec.thresholds, history, fitted.result.best_epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("-P", dest="params", action="append", default=[], help="name=value")
    parser.add_argument("-V", dest="variants", action="append", default=[], help="name:k=v,k=v")
    args = parser.parse_args()
    overrides = dict(p.split("=", 1) for p in args.params)
    overrides.setdefault("num_threads", "1")
    config = load_config(args.config, overrides)
    labels, threshold = config.dataset.label_columns, config.dataset.positive_threshold
    raw, _ = standardize(read_table(Path(args.source), args.source), config.dataset)
    started = time.perf_counter()
    prepared = preprocess(raw, config)
    splits = prepared.splits
    tokenizer_file = Path("/tmp") / f"cross_source-{time.time_ns()}-tokenizer.json"
    prepared.tokenizer.save(str(tokenizer_file))

    baseline = TfidfBaseline(config.normalization).fit(
        splits["train"][TEXT].tolist(), splits["train"][labels].to_numpy(), threshold
    )
    thresholds = {}
    scorers = {"TF-IDF + LR": baseline.predict_proba}
    histories = {}
    for name, varied in parse_variants(args.variants).items():
        predict, tuned, history, best = fit_variant(config, varied, prepared, tokenizer_file)
        scorers[name] = predict
        thresholds[name] = tuned[labels[0]]
        histories[name] = {"overrides": varied, "val_per_epoch": history, "best_epoch": best}
        print(name, histories[name], flush=True)

    report: dict = {
        "source": Path(args.source).name,
        "config": args.config,
        "overrides": overrides,
        "rows": {n: len(part) for n, part in splits.items()},
        "variants": histories,
        "own_test_macro_roc_auc": {},
        "probe": {},
        "cross": {},
    }
    test = splits["test"]
    for name, predict in scorers.items():
        aucs = roc_auc_per_label(
            test[labels].to_numpy(np.float32), predict(test[TEXT].tolist()), labels, threshold
        )
        report["own_test_macro_roc_auc"][name] = {
            "macro": round(macro(aucs), 4),
            **{k: round(v, 4) for k, v in aucs.items()},
        }
        probe_threshold = thresholds.get(name, 0.5)
        probe = run_probe(predict, config.bias.identity_terms, probe_threshold)
        report["probe"][name] = {k: round(v, 4) for k, v in probe.metrics().items()}
    source_name = Path(args.source).name
    for target in TARGETS:
        if target.file == source_name or not (SHARED / target.file).exists():
            continue
        frame = _load_target(target)
        texts = frame["text"].tolist()
        scores = {name: np.asarray(predict(texts))[:, 0] for name, predict in scorers.items()}
        report["cross"][target.name] = _cross_figures(
            frame["label"].to_numpy(), scores, config.evaluation
        )
        print(target.name, report["cross"][target.name], flush=True)
    report["seconds"] = round(time.perf_counter() - started, 1)
    record(f"cross_source-{config.dataset.name}", report)


if __name__ == "__main__":
    main()

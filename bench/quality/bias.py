"""Benchmark: identity bias (template probe, term-based Jigsaw metric) of the model vs TF-IDF + LR.

    python -m bench.quality.bias --config configs/jigsaw_wiki.yaml \
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

import time
from pathlib import Path

import pandas as pd
import torch
from sklearn.metrics import roc_auc_score

from bench.cli import bench_parser, overrides
from bench.common import Summary, figure, portable, record
from bench.fitting import fit_baseline, fit_model, saved_tokenizer, split_aucs, varied
from toxic_mlops.config import Config, load_config
from toxic_mlops.data.preprocessing import prepare
from toxic_mlops.evaluation.bias import IdentityBias, term_bias
from toxic_mlops.evaluation.evaluate import scored_identity_bias
from toxic_mlops.evaluation.identity import TermMatcher, flat_terms
from toxic_mlops.evaluation.metrics import macro

BASELINE = "TF-IDF + LR"


def _scorer_report(
    predict, splits: dict[str, pd.DataFrame], config: Config
) -> tuple[dict[str, float], IdentityBias]:
    scores, bias = scored_identity_bias(predict, splits, config)
    figures = {
        f"{n}_macro_roc_auc": macro(split_aucs(scores[n], splits[n], config))
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
    parser = bench_parser(__doc__, config=True, source=True, params=True)
    parser.add_argument("--mitigation", nargs="+", default=["none"])
    parser.add_argument("--epochs", type=int, default=-1, help="-1: the config's")
    parser.add_argument(
        "--bias-source", help="CSV of another source, scored for term bias (e.g. Davidson)"
    )
    parser.add_argument("--bias-columns", default="text,toxicity", help="its text,label")
    args = parser.parse_args()

    config = load_config(args.config, overrides(args))
    other = None
    if args.bias_source:
        text, label = args.bias_columns.split(",")
        other = pd.read_csv(args.bias_source)[[text, label]].dropna()
        other.columns = ["text", "label"]
    started = time.perf_counter()
    prepared = prepare(config, args.source)
    splits = prepared.splits
    report: dict = {
        "source": Path(args.source).name,
        "config": portable(args.config),
        "rows": {n: len(part) for n, part in splits.items()},
        "bias_source": Path(args.bias_source).name if args.bias_source else None,
        "identity_terms": sum(len(t) for t in config.bias.identity_terms.values()),
        "scorers": {},
    }
    baseline = fit_baseline(config, splits["train"])
    figures, bias = _scorer_report(baseline.predict_proba, splits, config)
    figures.update(_cross_source_bias(baseline.predict_proba, other, config))
    report["scorers"][BASELINE] = {**_rounded(figures), "worst_probe_terms": _worst_terms(bias)}
    print(BASELINE, _rounded(figures), flush=True)
    with saved_tokenizer(prepared) as tokenizer_file:
        for method in args.mitigation:
            changes = {"training.bias_mitigation": method}
            if args.epochs >= 0:  # 0 (the wide path alone) is below what a config may ask
                changes["epochs"] = str(args.epochs)
            fitted = fit_model(varied(config, changes), prepared, tokenizer_file)
            figures, bias = _scorer_report(fitted.predict, splits, config)
            figures.update(_cross_source_bias(fitted.predict, other, config))
            name = f"model, bias_mitigation={method}"
            report["scorers"][name] = {
                **_rounded(figures),
                "best_epoch": fitted.best_epoch,
                "train_rows": len(fitted.trained.fitted.encoded["train"]),
                "worst_probe_terms": _worst_terms(bias),
            }
            print(name, report["scorers"][name], flush=True)
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["torch_threads"] = torch.get_num_threads()
    record("bias", report)


def summarize(report: dict) -> Summary:
    """Per scorer: val/test macro ROC-AUC, the probe, the worst term's FPR, the term metric."""
    rows = []
    for name, found in report["scorers"].items():
        worst = found["worst_probe_terms"][0] if found["worst_probe_terms"] else {}
        rows.append(
            (
                name,
                found["val_macro_roc_auc"],
                found["test_macro_roc_auc"],
                found["probe_roc_auc"],
                f"{figure(found['probe_max_term_fpr'])} ({worst.get('term', 'n/a')})",
                found["probe_mean_term_fpr"],
                found["bias_term_final_score"],
            )
        )
    baseline = report["scorers"][BASELINE]["probe_roc_auc"]
    best = max(
        (n for n in report["scorers"] if n != BASELINE),
        default=BASELINE,
        key=lambda n: report["scorers"][n]["probe_roc_auc"],
    )
    sentence = (
        f"On {report['source']} ({report['config']}), {best.replace('model, ', 'the model with ')}"
        " has the best identity-probe "
        f"ROC-AUC, {figure(report['scorers'][best]['probe_roc_auc'])}, against TF-IDF + LR's "
        f"{figure(baseline)}."
    )
    figures = ("val macro AUC", "test macro AUC", "probe AUC", "worst term FPR", "mean term FPR")
    return Summary(sentence, ("scorer", *figures, "term bias metric"), rows)


if __name__ == "__main__":
    main()

"""Benchmark: trained on one source, scored on others; the model vs TF-IDF + LR, paired.

    nice python -m bench.quality.cross_source --config configs/jigsaw_wiki.yaml \
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

import time
from pathlib import Path

import numpy as np

from bench.cli import bench_parser, overrides, variants
from bench.common import Summary, figure, interval, portable, record
from bench.data import other_sources
from bench.fitting import fit_baseline, fit_model, saved_tokenizer, split_aucs, varied
from toxic_mlops.config import EvaluationConfig, load_config
from toxic_mlops.data.dataset import TEXT
from toxic_mlops.data.preprocessing import prepare
from toxic_mlops.evaluation.bootstrap import intervals, resampled_macro_auc, win_probability
from toxic_mlops.evaluation.metrics import macro, roc_auc_per_label
from toxic_mlops.evaluation.probe import run_probe

BASELINE = "TF-IDF + LR"


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


def main() -> None:
    parser = bench_parser(__doc__, config=True, source=True, params=True, variants=True)
    args = parser.parse_args()
    settings = overrides(args)
    settings.setdefault("num_threads", "1")
    config = load_config(args.config, settings)
    labels = config.dataset.label_columns
    started = time.perf_counter()
    prepared = prepare(config, args.source)
    splits = prepared.splits

    thresholds = {}
    scorers = {BASELINE: fit_baseline(config, splits["train"]).predict_proba}
    histories = {}
    with saved_tokenizer(prepared) as tokenizer_file:
        for name, changes in variants(args).items():
            fitted = fit_model(varied(config, changes), prepared, tokenizer_file)
            scorers[name] = fitted.predict
            thresholds[name] = fitted.trained.spec.thresholds[labels[0]]
            histories[name] = {
                "overrides": changes,
                "val_per_epoch": fitted.val_per_epoch(),
                "best_epoch": fitted.best_epoch,
            }
            print(name, histories[name], flush=True)

    report: dict = {
        "source": Path(args.source).name,
        "config": portable(args.config),
        "overrides": settings,
        "rows": {n: len(part) for n, part in splits.items()},
        "variants": histories,
        "own_test_macro_roc_auc": {},
        "probe": {},
        "cross": {},
    }
    for name, predict in scorers.items():
        test = splits["test"]
        aucs = split_aucs(predict(test[TEXT].tolist()), test, config)
        report["own_test_macro_roc_auc"][name] = {
            "macro": round(macro(aucs), 4),
            **{k: round(v, 4) for k, v in aucs.items()},
        }
        probe = run_probe(predict, config.bias.identity_terms, thresholds.get(name, 0.5))
        report["probe"][name] = {k: round(v, 4) for k, v in probe.metrics().items()}
    for target, frame in other_sources(args.source).items():
        texts = frame["text"].tolist()
        scores = {name: np.asarray(predict(texts))[:, 0] for name, predict in scorers.items()}
        report["cross"][target] = _cross_figures(
            frame["label"].to_numpy(), scores, config.evaluation
        )
        print(target, report["cross"][target], flush=True)
    report["seconds"] = round(time.perf_counter() - started, 1)
    record(f"cross_source-{config.dataset.name}", report)


def summarize(report: dict) -> Summary:
    """Per scorer: own test macro ROC-AUC, probe AUC and ROC-AUC [95 % CI] on each other source."""
    targets = list(report["cross"])
    rows = []
    for name, own in report["own_test_macro_roc_auc"].items():
        cells = []
        for target in targets:
            found = report["cross"][target][name]
            cell = interval(found["roc_auc"], found["ci_low"], found["ci_high"])
            if "p_better_than_baseline" in found:
                cell += f", P {figure(found['p_better_than_baseline'])}"
            cells.append(cell)
        rows.append((name, own["macro"], report["probe"][name]["probe_roc_auc"], *cells))
    model = [n for n in report["own_test_macro_roc_auc"] if n != BASELINE]
    wins = [
        t
        for t in targets
        if all(
            report["cross"][t][n]["roc_auc"] > report["cross"][t][BASELINE]["roc_auc"]
            for n in model
        )
    ]
    losses = [t for t in targets if t not in wins]
    sentence = (
        f"Trained on {report['source']} ({', '.join(model)}), the model beats TF-IDF + LR on "
        f"{', '.join(wins) or 'no other source'}"
        + (f" but not on {', '.join(losses)}" if wins and losses else "")
        + " (ROC-AUC [95 % CI]; P: paired bootstrap probability of beating TF-IDF + LR)."
    )
    columns = ("scorer", "own test macro ROC-AUC", "probe ROC-AUC", *targets)
    return Summary(sentence, columns, rows)


if __name__ == "__main__":
    main()

"""Study: does a deep epoch beat epoch 0 (the fitted wide path)? The core, without MLflow.

    nice python -m bench.studies.deep_options --config configs/jigsaw_wiki.yaml \
        --source ../shared/data/jigsaw_wiki_train.csv [-P ngram_folds=5 -P epochs=3 ...]

Preprocesses the source as the preprocess step does, fits the config's network (1 torch thread
unless -P num_threads says otherwise) and TF-IDF + LR on the same split, and records the val
macro ROC-AUC of every epoch and each label's test ROC-AUC of both. For choosing options
quickly; `bench.quality.pipeline` is the real pipeline. -P sample_fraction=F keeps that share
of the source's rows first.
"""

from __future__ import annotations

import time

from bench.cli import bench_parser, overrides
from bench.common import Summary, figure, portable, record
from bench.fitting import fit_baseline, fit_model, saved_tokenizer, split_aucs
from toxic_mlops.config import load_config
from toxic_mlops.data.dataset import TEXT
from toxic_mlops.data.preprocessing import preprocess, read_raw


def main() -> None:
    args = bench_parser(__doc__, config=True, source=True, params=True).parse_args()
    settings = overrides(args)
    settings.setdefault("num_threads", "1")
    sample_fraction = settings.pop("sample_fraction", None)
    config = load_config(args.config, settings)
    labels = config.dataset.label_columns
    raw = read_raw(args.source, config)
    if sample_fraction:
        raw = raw.sample(frac=float(sample_fraction), random_state=config.sample.seed)
    started = time.perf_counter()
    prepared = preprocess(raw, config)
    with saved_tokenizer(prepared) as tokenizer_file:
        fitted = fit_model(config, prepared, tokenizer_file)
    splits = prepared.splits
    baseline = fit_baseline(config, splits["train"])
    baseline_aucs = {
        name: split_aucs(baseline.predict_proba(splits[name][TEXT].tolist()), splits[name], config)
        for name in ("val", "test")
    }
    record(
        f"deep_options-{config.dataset.name}",
        {
            "config": portable(args.config),
            "overrides": settings,
            "embeddings": prepared.embeddings.info() if prepared.embeddings else None,
            "seconds": round(time.perf_counter() - started, 1),
            "val_macro_roc_auc_per_epoch": fitted.val_per_epoch(),
            "best_epoch": fitted.best_epoch,
            "baseline_val_macro_roc_auc": round(
                sum(baseline_aucs["val"].values()) / len(labels), 4
            ),
            "test_roc_auc": {
                label: {
                    "model": round(fitted.trained.metrics[f"test_roc_auc_{label}"], 4),
                    "baseline": round(baseline_aucs["test"][label], 4),
                }
                for label in labels
            },
        },
    )


def summarize(report: dict) -> Summary:
    """Validation per epoch, the kept epoch and each label's test ROC-AUC, model vs baseline."""
    per_epoch = report["val_macro_roc_auc_per_epoch"]
    best = report["best_epoch"]
    rows = [
        (
            "val macro ROC-AUC per epoch (0: wide path alone)",
            figure(list(per_epoch.values())),
            report["baseline_val_macro_roc_auc"],
        )
    ]
    rows += [
        (f"test ROC-AUC {label}", found["model"], found["baseline"])
        for label, found in report["test_roc_auc"].items()
    ]
    gain = per_epoch[str(best)] - per_epoch["0"]
    sentence = f"With {report['config']} and the command's overrides, " + (
        f"deep epoch {best} beats epoch 0 on validation by {figure(gain)}."
        if best != 0
        else "no deep epoch beats epoch 0 (the fitted wide path) on validation."
    )
    return Summary(sentence, ("figure", "model", "TF-IDF + LR"), rows)


if __name__ == "__main__":
    main()

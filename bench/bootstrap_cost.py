"""Benchmark: what the evaluate step's bootstrap costs and what it says, on real data.

    python -m bench.bootstrap_cost [--config configs/sample.yaml] [--source FILE] [--resamples N]

Cleans and splits the data as the preprocess step does, fits the TF-IDF baseline on the train
split and, as a second scorer, the same baseline on half of the train rows; then times
`label_intervals` on the test split (the cost per scorer in the evaluate step) and
`win_probability` on the validation split (the gate's paired bootstrap), and records the
intervals, support and win probabilities they give.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from bench.common import record
from toxic_mlops.config import load_config
from toxic_mlops.data.dataset import TEXT, clean, split_frame, standardize
from toxic_mlops.data.download import read_table
from toxic_mlops.evaluation.baseline import TfidfBaseline
from toxic_mlops.evaluation.bootstrap import intervals, resampled_label_metrics, win_probability
from toxic_mlops.evaluation.label_metrics import label_metrics, tune_thresholds
from toxic_mlops.evaluation.metrics import macro, roc_auc_per_label


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/sample.yaml")
    parser.add_argument("--source", default="", help="default: the config's first source")
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    config = load_config(args.config)
    settings = replace(config.evaluation, bootstrap_resamples=args.resamples)
    dataset = config.dataset
    labels, threshold = dataset.label_columns, dataset.positive_threshold
    source = Path(args.source or dataset.sources[0])
    frame, _ = standardize(read_table(source, str(source)), dataset)
    cleaned, _ = clean(frame, dataset, config.normalization)
    splits = split_frame(cleaned, dataset.stratify_column, threshold, config.split)
    train = splits["train"]
    half = train.iloc[: len(train) // 2]
    scorers = {
        "baseline": TfidfBaseline(config.normalization).fit(
            train[TEXT].tolist(), train[labels].to_numpy(), threshold
        ),
        "baseline_half_train": TfidfBaseline(config.normalization).fit(
            half[TEXT].tolist(), half[labels].to_numpy(), threshold
        ),
    }
    targets = {name: splits[name][labels].to_numpy(dtype=float) for name in ("val", "test")}
    scores = {
        scorer: {name: model.predict_proba(splits[name][TEXT].tolist()) for name in targets}
        for scorer, model in scorers.items()
    }
    report: dict = {
        "source": str(source),
        "rows": {name: len(part) for name, part in splits.items()},
        "labels": labels,
        "resamples": args.resamples,
    }
    full = scores["baseline"]
    thresholds = tune_thresholds(targets["val"], full["val"], labels, threshold)
    started = time.perf_counter()
    resampled = resampled_label_metrics(
        targets["test"], full["test"], labels, thresholds, threshold, settings
    )
    bounds = intervals(resampled, settings.confidence)
    report["seconds_test_intervals_one_scorer"] = round(time.perf_counter() - started, 3)
    point = label_metrics(targets["test"], full["test"], labels, thresholds, threshold)
    report["test_roc_auc"] = {
        label: {
            "value": round(point[f"roc_auc_{label}"], 4),
            "ci": [round(bounds[f"roc_auc_{label}_ci_{end}"], 4) for end in ("low", "high")],
            "positives": int(point[f"positives_{label}"]),
            "negatives": int(point[f"negatives_{label}"]),
        }
        for label in [*labels]
    }
    started = time.perf_counter()
    half_scores = scores["baseline_half_train"]
    p_full = win_probability(
        targets["val"], full["val"], half_scores["val"], labels, threshold, settings
    )
    report["seconds_val_win_probability"] = round(time.perf_counter() - started, 3)
    report["val_macro_roc_auc"] = {
        scorer: round(macro(roc_auc_per_label(targets["val"], s["val"], labels, threshold)), 4)
        for scorer, s in scores.items()
    }
    report["p_full_train_better_than_half"] = round(p_full, 4)
    record("bootstrap_cost", report)


if __name__ == "__main__":
    main()

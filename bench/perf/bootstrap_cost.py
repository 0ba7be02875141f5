"""Benchmark: what the evaluate step's bootstrap costs and what it says, on real data.

    python -m bench.perf.bootstrap_cost [--config configs/sample.yaml] [--source FILE] \
        [--resamples N]

Cleans and splits the data as the preprocess step does, fits the TF-IDF baseline on the train
split and, as a second scorer, the same baseline on half of the train rows; then times
`label_intervals` on the test split (the cost per scorer in the evaluate step) and
`win_probability` on the validation split (the gate's paired bootstrap), and records the
intervals, support and win probabilities they give.
"""

from __future__ import annotations

import time
from dataclasses import replace

from bench.cli import bench_parser
from bench.common import Summary, figure, interval, portable, record
from bench.data import config_source
from bench.fitting import fit_baseline
from toxic_mlops.config import load_config
from toxic_mlops.data.dataset import TEXT, clean, split_frame
from toxic_mlops.data.preprocessing import read_raw
from toxic_mlops.evaluation.bootstrap import intervals, resampled_label_metrics, win_probability
from toxic_mlops.evaluation.label_metrics import label_metrics, tune_thresholds
from toxic_mlops.evaluation.metrics import macro, roc_auc_per_label

DEFAULT_CONFIG = "configs/sample.yaml"


def main() -> None:
    parser = bench_parser(__doc__, config=DEFAULT_CONFIG, source="")
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    config = load_config(args.config)
    settings = replace(config.evaluation, bootstrap_resamples=args.resamples)
    dataset = config.dataset
    labels, threshold = dataset.label_columns, dataset.positive_threshold
    source = config_source(config, args.source)
    # the preprocess step's cleaning and split; the tokenizer is not needed here
    cleaned, _ = clean(read_raw(source, config), dataset, config.normalization)
    splits = split_frame(cleaned, dataset.stratify_column, threshold, config.split)
    train = splits["train"]
    half = train.iloc[: len(train) // 2]
    scorers = {
        "baseline": fit_baseline(config, train),
        "baseline_half_train": fit_baseline(config, half),
    }
    targets = {name: splits[name][labels].to_numpy(dtype=float) for name in ("val", "test")}
    scores = {
        scorer: {name: model.predict_proba(splits[name][TEXT].tolist()) for name in targets}
        for scorer, model in scorers.items()
    }
    report: dict = {
        "config": portable(args.config),
        "source": portable(str(source)),
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


def summarize(report: dict) -> Summary:
    """Seconds of the bootstrap's two uses, and the intervals and support it gives per label."""
    rows = [
        ("test intervals of one scorer, s", report["seconds_test_intervals_one_scorer"]),
        ("paired win probability on val, s", report["seconds_val_win_probability"]),
    ]
    rows += [
        (
            f"test ROC-AUC {label} (positives / negatives)",
            f"{interval(found['value'], *found['ci'])} ({found['positives']:,} / "
            f"{found['negatives']:,})",
        )
        for label, found in report["test_roc_auc"].items()
    ]
    size = f"{report['resamples']:,} resamples of {report['rows']['test']:,} test rows"
    seconds = figure(report["seconds_test_intervals_one_scorer"])
    p_full = figure(report["p_full_train_better_than_half"])
    sentence = f"{size} x {len(report['labels'])} labels take {seconds} s per scorer; " + (
        f"the gate's paired test gives P(full train beats half) = {p_full}."
    )
    return Summary(sentence, ("figure (TF-IDF + LR)", "value"), rows)


if __name__ == "__main__":
    main()

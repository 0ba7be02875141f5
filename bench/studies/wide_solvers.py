"""Study: does the wide path fitted by L-BFGS score as the liblinear fit does? No MLflow.

    nice python -m bench.studies.wide_solvers --config configs/jigsaw_wiki.yaml \
        --source ../shared/data/jigsaw_wiki_train.csv [-P ngram_folds=5 ...]

Preprocesses the source as the preprocess step does, then fits the config's wide path alone
(epochs 0: the regression per label, its out-of-fold offsets and NB scaling as configured) once
per solver, `training.ngram_solver` liblinear then lbfgs, on the same split (1 torch thread
unless -P num_threads says otherwise). Records each fit's seconds, each label's test ROC-AUC
and the paired-bootstrap 95 % interval of each difference (lbfgs - liblinear, same test rows,
the evaluate step's resampling). `auto` switches to L-BFGS past training.ngram_liblinear_max_rows;
this says what that switch costs in quality where both can run.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from bench.cli import bench_parser, overrides
from bench.common import Summary, figure, portable, record
from bench.fitting import fit_model, saved_tokenizer, split_aucs, varied
from toxic_mlops.config import EvaluationConfig, load_config
from toxic_mlops.data.dataset import TEXT
from toxic_mlops.data.preprocessing import prepare
from toxic_mlops.evaluation.bootstrap import resampled_macro_auc

SOLVERS = ("liblinear", "lbfgs")


def main() -> None:
    args = bench_parser(__doc__, config=True, source=True, params=True).parse_args()
    settings = overrides(args, num_threads="1")
    config = load_config(args.config, settings)
    dataset = config.dataset
    labels = dataset.label_columns
    prepared = prepare(config, args.source)
    test = prepared.splits["test"]
    targets = test[labels].to_numpy(np.float32)
    scores, seconds = {}, {}
    with saved_tokenizer(prepared) as tokenizer_file:
        for solver in SOLVERS:
            started = time.perf_counter()
            fitted = fit_model(
                varied(config, {"epochs": "0", "ngram_solver": solver}), prepared, tokenizer_file
            )
            seconds[solver] = round(time.perf_counter() - started, 1)
            scores[solver] = fitted.predict(test[TEXT].tolist())
            print(solver, seconds[solver], "s", flush=True)
    report: dict = {
        "source": Path(args.source).name,
        "config": portable(args.config),
        "overrides": settings,
        "rows": {name: len(part) for name, part in prepared.splits.items()},
        "min_positives": config.evaluation.min_positives,
        "seconds": seconds,
        "test_roc_auc": {s: split_aucs(scores[s], test, config) for s in SOLVERS},
        "difference_ci": {},
    }
    for column, label in enumerate(labels):
        resampled = resampled_macro_auc(
            targets[:, [column]],
            [scores[s][:, [column]] for s in SOLVERS],
            [label],
            dataset.positive_threshold,
            config.evaluation,
        )
        interval = np.nanpercentile(resampled[1] - resampled[0], [2.5, 97.5])
        report["difference_ci"][label] = [round(float(v), 4) for v in interval]
        report.setdefault("positives", {})[label] = int(
            (targets[:, column] >= dataset.positive_threshold).sum()
        )
    record(f"wide_solvers-{dataset.name}", report)


def summarize(report: dict) -> Summary:
    """Per label: test positives, ROC-AUC of each solver, the interval of the difference (none
    where the label has too few positives to rank, as the evaluate step says)."""
    aucs, intervals = report["test_roc_auc"], report["difference_ci"]
    least = report.get("min_positives", EvaluationConfig().min_positives)
    rankable = {k: v for k, v in intervals.items() if report["positives"][k] >= least}
    rows = [
        (
            label,
            report["positives"][label],
            *(figure(aucs[s][label]) for s in SOLVERS),
            f"{figure(low)} to {figure(high)}",
        )
        for label, (low, high) in rankable.items()
    ]
    inside = [label for label, (low, high) in rankable.items() if low <= 0 <= high]
    seconds = report["seconds"]
    sentence = (
        f"The wide path alone (epochs 0), fitted on the {report['rows']['train']:,} training rows "
        f"of {report['source']} by each solver: liblinear {seconds['liblinear']:g} s, L-BFGS "
        f"{seconds['lbfgs']:g} s (encoding included). The test ROC-AUC difference's interval "
        f"holds 0 for {len(inside)} of the {len(rankable)} labels with {least}+ test positives"
    )
    if few := [label for label in intervals if label not in rankable]:
        sentence += f" (not ranked, too few: {', '.join(few)})"
    sentence += "."
    columns = ("label", "test positives", *(f"{s} ROC-AUC" for s in SOLVERS), "lbfgs - liblinear")
    return Summary(sentence, columns, rows)


if __name__ == "__main__":
    main()

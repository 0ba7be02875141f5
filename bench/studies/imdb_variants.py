"""Study: IMDB test accuracy of the real network, per variant, on the project's own split.

    nice python -m bench.studies.imdb_variants --source ../shared/data/imdb_train.csv.gz \
        [-P embedding_dim=50 -P pretrained_embeddings=bench/.cache/glove.6B.50d.txt] \
        -V wide:epochs=0,ngram_c=100 -V stacked:ngram_c=100,ngram_folds=5,epochs=4

Splits and tokenises `configs/imdb.yaml`'s data as the preprocess step does (-P: overrides that
preprocessing needs too, such as embeddings), then trains each variant (-V: training/model
overrides; epochs=0 is the fitted wide path alone) in this process and reports validation macro
AUC per epoch, the kept epoch, and test accuracy at 0.5 and at the tuned threshold, with seconds.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.metrics import accuracy_score, roc_auc_score

from bench.cli import bench_parser, overrides, variants
from bench.common import ROOT, Summary, figure, record
from bench.fitting import fit_model, saved_tokenizer, varied
from toxic_mlops.config import load_config
from toxic_mlops.data.dataset import TEXT
from toxic_mlops.data.preprocessing import prepare

CONFIG = ROOT / "configs" / "imdb.yaml"


def main() -> None:
    args = bench_parser(__doc__, source=True, params=True, variants=True).parse_args()
    settings = overrides(args, num_threads="1")
    config = load_config(CONFIG, settings)
    prepared = prepare(config, args.source)
    label = config.dataset.label_columns[0]
    test = prepared.splits["test"]
    truth = test[label].to_numpy() >= config.dataset.positive_threshold
    report: dict = {"overrides": settings, "rows": {n: len(s) for n, s in prepared.splits.items()}}
    with saved_tokenizer(prepared) as tokenizer_file:
        for name, changes in variants(args).items():
            started = time.perf_counter()
            fitted = fit_model(varied(config, changes), prepared, tokenizer_file)
            scores = np.asarray(fitted.predict(test[TEXT].tolist()))[:, 0]
            threshold = fitted.trained.spec.thresholds[label]
            report[name] = {
                "overrides": changes,
                "val_macro_roc_auc_per_epoch": fitted.val_per_epoch(),
                "best_epoch": fitted.best_epoch,
                "test_accuracy_at_0.5": round(float(accuracy_score(truth, scores >= 0.5)), 4),
                "test_accuracy_at_threshold": round(
                    float(accuracy_score(truth, scores >= threshold)), 4
                ),
                "test_roc_auc": round(float(roc_auc_score(truth, scores)), 4),
                "seconds": round(time.perf_counter() - started, 1),
            }
            print(name, report[name], flush=True)
    record("imdb_variants", report)


def summarize(report: dict) -> Summary:
    """Per variant: validation per epoch, the kept epoch, test accuracy and ROC-AUC, seconds."""
    names = [n for n, found in report.items() if isinstance(found, dict) and "best_epoch" in found]
    rows = [
        (
            name,
            ", ".join(f"{k}={v}" for k, v in report[name]["overrides"].items()) or "as configured",
            figure(list(report[name]["val_macro_roc_auc_per_epoch"].values())),
            report[name]["best_epoch"],
            report[name]["test_accuracy_at_0.5"],
            report[name]["test_accuracy_at_threshold"],
            report[name]["test_roc_auc"],
            report[name]["seconds"],
        )
        for name in names
    ]
    best = max(names, key=lambda n: report[n]["test_accuracy_at_threshold"])
    sentence = (
        f"On IMDB's own split ({report['rows']['test']:,} test reviews), {best} reaches test "
        f"accuracy {figure(report[best]['test_accuracy_at_threshold'])} at the threshold tuned "
        "on validation."
    )
    test = ("test accuracy at 0.5", "at the tuned threshold", "test ROC-AUC")
    return Summary(
        sentence, ("variant", "overrides", "val AUC per epoch", "kept", *test, "s"), rows
    )


if __name__ == "__main__":
    main()

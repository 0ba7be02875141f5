"""External peer: alt-profanity-check scored on the same test split as a pipeline's model.

    MLFLOW_TRACKING_URI=sqlite:///bench/.runs/<config>/mlflow.db \
        python -m bench.quality.peers [--train-run RUN_ID]   # default: the newest train run

Needs `pip install ".[bench]"`. Prints ROC-AUC of the first label for the model and the TF-IDF
baseline (from that train run's evaluate run) and for alt-profanity-check.
"""

from __future__ import annotations

from mlflow.tracking import MlflowClient
from sklearn.metrics import roc_auc_score

from bench.cli import bench_parser
from bench.common import Summary, record
from bench.data import test_split


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--train-run", default="")
    parser.add_argument("--threshold", type=float, default=0.5)
    args = parser.parse_args()
    from profanity_check import predict_prob  # the [bench] extra, which bench.report does not need

    client = MlflowClient()
    experiments = [e.experiment_id for e in client.search_experiments()]
    entry = "tags.`mlflow.project.entryPoint`"
    train_run = (
        args.train_run
        or client.search_runs(
            experiments,
            f"{entry} = 'train' and attributes.status = 'FINISHED'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )[0].info.run_id
    )
    evaluation = client.search_runs(
        experiments,
        f"{entry} = 'evaluate' and tags.`toxic.train_run` = '{train_run}'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )[0]
    test = test_split(train_run)
    label = [c for c in test.columns if c != "text"][0]
    truth = test[label] >= args.threshold
    metrics = evaluation.data.metrics
    report = {
        "train_run": train_run,
        "test_rows": len(test),
        "label": label,
        "roc_auc": {
            "model": round(metrics[f"test_roc_auc_{label}"], 4),
            "tfidf_lr": round(metrics[f"baseline_test_roc_auc_{label}"], 4),
            "alt_profanity_check": round(
                float(roc_auc_score(truth, predict_prob(test["text"].tolist()))), 4
            ),
        },
    }
    record("peers", report)


def summarize(report: dict) -> Summary:
    """ROC-AUC of the first label on the train run's test split, per scorer."""
    aucs = report["roc_auc"]
    sentence = (
        f"On {report['test_rows']:,} test rows (`{report['label']}`), alt-profanity-check scores "
        f"{aucs['alt_profanity_check']:.4f} against the model's {aucs['model']:.4f}; it was "
        "trained on data that may include these rows, so it is an upper reference."
    )
    return Summary(sentence, ("scorer", "test ROC-AUC"), list(aucs.items()))


if __name__ == "__main__":
    main()

"""evaluate: score the logged model and a TF-IDF baseline on the same held-out split."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import click
import matplotlib.pyplot as plt
import mlflow
import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient

from steps.common import DEFAULT_CONFIG, step_run, user_errors
from toxic_mlops.config import ConfigError, load_config
from toxic_mlops.data.dataset import TEXT, load_splits
from toxic_mlops.evaluation.baseline import TfidfBaseline
from toxic_mlops.evaluation.bias import bias_aucs, final_bias_score
from toxic_mlops.evaluation.label_metrics import inference_cost, label_metrics, tune_thresholds
from toxic_mlops.evaluation.metrics import macro, roc_auc_per_label
from toxic_mlops.evaluation.model_card import model_card
from toxic_mlops.mlflow_io.registry import (
    PRODUCTION_METRIC_PREFIX,
    PRODUCTION_SCORED_TAG,
    current_production,
)
from toxic_mlops.mlflow_io.runs import (
    MODEL_URI_TAG,
    PREPROCESS_RUN_TAG,
    SPLITS_ARTIFACT,
    TRAIN_RUN_TAG,
    download_run_artifacts,
    get_run,
    latest_finished_run,
)
from toxic_mlops.plots import roc_pr_curves, score_histograms

MODEL = "model"
BASELINE = "TF-IDF + LR"


def pyfunc_predictor(model_uri: str) -> Callable[[list[str]], np.ndarray]:
    """Scores through the logged pyfunc, as clients call it, in requests of at most max_rows."""
    model = mlflow.pyfunc.load_model(model_uri)
    max_rows = model.unwrap_python_model().scorer.spec.max_rows

    def predict(texts: list[str]) -> np.ndarray:
        parts = [
            model.predict(pd.DataFrame({TEXT: texts[start : start + max_rows]})).to_numpy()
            for start in range(0, len(texts), max_rows)
        ]
        return np.concatenate(parts)

    return predict


@click.command()
@click.option("--config", "config_path", default=DEFAULT_CONFIG, show_default=True)
@click.option("--train-run", default="", help="Run id of a finished train step (default: newest).")
@click.option("--data-dir", default="", help="Splits folder, if the model was trained from one.")
@user_errors
def main(config_path: str, train_run: str, data_dir: str) -> None:
    config = load_config(config_path)
    dataset = config.dataset
    labels, threshold = dataset.label_columns, dataset.positive_threshold
    normalizer = config.normalization

    with step_run("evaluate") as run, tempfile.TemporaryDirectory() as tmp:
        if not train_run:
            train_run = latest_finished_run(run.info.experiment_id, "train", config_path)
            click.echo(f"evaluate: using the latest train run {train_run}")
        tags = get_run(train_run).data.tags
        if MODEL_URI_TAG not in tags:
            raise ConfigError(f"run {train_run} is not a finished train run with a logged model")
        preprocess_run = tags.get(PREPROCESS_RUN_TAG, "")
        if data_dir:
            data = Path(data_dir)
        elif preprocess_run:
            data = download_run_artifacts(preprocess_run, SPLITS_ARTIFACT, Path(tmp))
        else:
            raise ConfigError(f"train run {train_run} was trained from a folder: pass -P data_dir=")
        splits = load_splits(data)
        mlflow.set_tag(TRAIN_RUN_TAG, train_run)

        predict_model = pyfunc_predictor(tags[MODEL_URI_TAG])
        baseline = TfidfBaseline(normalizer).fit(
            splits["train"][TEXT].tolist(), splits["train"][labels].to_numpy(), threshold
        )
        scorers = {MODEL: predict_model, BASELINE: baseline.predict_proba}
        targets = {
            name: splits[name][labels].to_numpy(dtype=np.float32) for name in ("val", "test")
        }
        scores = {
            scorer: {name: predict(splits[name][TEXT].tolist()) for name in ("val", "test")}
            for scorer, predict in scorers.items()
        }

        results: dict[str, dict[str, float]] = {}
        for scorer, prefix in ((MODEL, ""), (BASELINE, "baseline_")):
            val_auc = macro(
                roc_auc_per_label(targets["val"], scores[scorer]["val"], labels, threshold)
            )
            thresholds = tune_thresholds(targets["val"], scores[scorer]["val"], labels, threshold)
            test = label_metrics(
                targets["test"], scores[scorer]["test"], labels, thresholds, threshold
            )
            results[scorer] = test
            mlflow.log_metrics(
                {
                    f"{prefix}val_macro_roc_auc": val_auc,
                    **{f"{prefix}test_{k}": v for k, v in test.items()},
                }
            )

        # The gate compares with Production on this very split, not on the one it was tested on.
        production = current_production(MlflowClient(), config.registry.model_name)
        if production is not None and production.run_id != train_run:
            production_scores = pyfunc_predictor(f"models:/{production.name}/{production.version}")(
                splits["val"][TEXT].tolist()
            )
            mlflow.log_metric(
                PRODUCTION_METRIC_PREFIX + "val_macro_roc_auc",
                macro(roc_auc_per_label(targets["val"], production_scores, labels, threshold)),
            )
            mlflow.set_tag(PRODUCTION_SCORED_TAG, f"{production.name}/{production.version}")

        sample = splits["test"][TEXT].tolist()[:512]
        cost = {name: inference_cost(predict, sample) for name, predict in scorers.items()}
        mlflow.log_metrics(
            {**cost[MODEL], **{f"baseline_{k}": v for k, v in cost[BASELINE].items()}}
        )

        bias = None
        identities = [c for c in dataset.identity_columns if c in splits["test"].columns]
        if identities:
            bias = {}
            for scorer, prefix in ((MODEL, ""), (BASELINE, "baseline_")):
                frame = splits["test"].assign(score=scores[scorer]["test"][:, 0])
                per_identity = bias_aucs(frame, "score", labels[0], identities, threshold)
                bias[scorer] = final_bias_score(
                    results[scorer][f"roc_auc_{labels[0]}"], per_identity
                )
                mlflow.log_table(per_identity, f"bias/{prefix or 'model_'}per_identity.json")
                mlflow.log_metric(f"{prefix}bias_final_score", bias[scorer])

        mlflow.log_figure(
            roc_pr_curves(
                targets["test"], {n: s["test"] for n, s in scores.items()}, labels, threshold
            ),
            "plots/test_roc_pr_vs_baseline.png",
        )
        mlflow.log_figure(
            score_histograms(targets["test"], scores[MODEL]["test"], labels, threshold),
            "plots/test_score_histograms.png",
        )
        plt.close("all")
        card = model_card(
            dataset.name,
            {n: len(p) for n, p in splits.items()},
            labels,
            results[MODEL],
            results[BASELINE],
            cost,
            bias,
        )
        mlflow.log_text(card, "model_card.md")
        click.echo(
            f"evaluate: test macro ROC-AUC model {results[MODEL]['macro_roc_auc']:.4f} vs "
            f"{BASELINE} {results[BASELINE]['macro_roc_auc']:.4f}; "
            f"model {cost[MODEL]['comments_per_s']:,.0f} comments/s, "
            f"p50 {cost[MODEL]['latency_p50_ms']:.1f} ms"
        )


if __name__ == "__main__":
    main()

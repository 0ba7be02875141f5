"""train: fit the BiLSTM on the preprocessed splits and log the pyfunc model with its metrics."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
import matplotlib.pyplot as plt
import mlflow
import torch

from pyfunc.scoring import ModelSpec
from steps.common import ACCEPT_EXTRA_OPTIONS, DEFAULT_CONFIG, extra_options, step_run, user_errors
from toxic_mlops.batches import preprocessed_inputs
from toxic_mlops.config import (
    ConfigError,
    apply_overrides,
    dataset_config,
    flatten,
    load_config,
)
from toxic_mlops.evaluation import tune_thresholds
from toxic_mlops.metrics import macro, roc_auc_per_label
from toxic_mlops.packaging import log_pyfunc_model, save_model_files
from toxic_mlops.plots import loss_curve, roc_pr_curves
from toxic_mlops.tracking import (
    MODEL_URI_TAG,
    PREPROCESS_RUN_TAG,
    THRESHOLDS_ARTIFACT,
    latest_finished_run,
)
from toxic_mlops.training import EpochResult, fit, predict_split
from toxic_mlops.tuning import load_best_params

TUNABLE_SECTIONS = ("model", "training")
PARAMS_FROM_TAG = "toxic.params_from"  # the tune run whose best params were used
CPU = torch.device("cpu")  # train() hands the best weights back on the CPU
INPUT_EXAMPLE = ["Thanks, that was really helpful.", "You are a total idiot."]


def log_epoch(result: EpochResult) -> None:
    metrics = {
        "epoch_train_loss": result.train_loss,
        "epoch_val_loss": result.val_loss,
        "epoch_val_macro_roc_auc": result.val_macro_roc_auc,
        "epoch_learning_rate": result.learning_rate,
        "epoch_seconds": result.seconds,
        **{f"epoch_val_roc_auc_{label}": auc for label, auc in result.val_roc_auc.items()},
    }
    mlflow.log_metrics(metrics, step=result.epoch)
    click.echo(
        f"epoch {result.epoch}: train loss {result.train_loss:.4f}, "
        f"val loss {result.val_loss:.4f}, "
        f"val macro ROC-AUC {result.val_macro_roc_auc:.4f} ({result.seconds:.0f}s)"
    )


@click.command(context_settings=ACCEPT_EXTRA_OPTIONS)
@click.option("--config", "config_path", default=DEFAULT_CONFIG, show_default=True)
@click.option("--preprocess-run", default="", help="Run id of a finished preprocess step.")
@click.option(
    "--data-dir", default="", help="Or a folder with {train,val,test}.parquet + tokenizer.json."
)
@click.option("--params-from", default="", help="Run id of a tune run: start from its best params.")
@click.pass_context
@user_errors
def main(
    ctx: click.Context, config_path: str, preprocess_run: str, data_dir: str, params_from: str
) -> None:
    """Any model/training setting can be overridden: -P epochs=2 -P hidden_size=64 ...

    With -P params_from=<tune run>, its best params apply first; explicit -P settings still win.
    """
    if preprocess_run and data_dir:
        raise ConfigError("give one of -P preprocess_run=<run id> or -P data_dir=<path>, not both")
    tuned = load_best_params(params_from) if params_from else {}
    overrides = {**tuned, **extra_options(ctx.args)}
    config = apply_overrides(load_config(config_path), overrides, TUNABLE_SECTIONS)
    dataset = dataset_config(config)
    labels, threshold = dataset.label_columns, dataset.positive_threshold

    with step_run("train") as run, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if not data_dir and not preprocess_run:
            preprocess_run = latest_finished_run(run.info.experiment_id, "preprocess", config_path)
            click.echo(f"train: using the latest preprocess run {preprocess_run}")
        splits, tokenizer_file = preprocessed_inputs(preprocess_run, data_dir, work)
        mlflow.log_params(flatten(config, TUNABLE_SECTIONS))
        fitted = fit(config, splits, tokenizer_file, on_epoch=log_epoch)
        result, encoder, encoded = fitted.result, fitted.encoder, fitted.encoded

        final: dict[str, float] = {"best_epoch": result.best_epoch}
        probabilities = {}
        for name in ("val", "test"):
            loss, probabilities[name] = predict_split(
                result.network, encoder, encoded[name], fitted.settings.batch_size, CPU
            )
            aucs = roc_auc_per_label(encoded[name].targets, probabilities[name], labels, threshold)
            final.update({f"{name}_loss": loss, f"{name}_macro_roc_auc": macro(aucs)})
            final.update({f"{name}_roc_auc_{label}": auc for label, auc in aucs.items()})
        thresholds = tune_thresholds(
            encoded["val"].targets, probabilities["val"], labels, threshold
        )
        mlflow.log_metrics(final)
        mlflow.log_dict(thresholds, THRESHOLDS_ARTIFACT)
        mlflow.log_figure(loss_curve(result.history), "plots/loss_curve.png")
        mlflow.log_figure(
            roc_pr_curves(
                encoded["test"].targets, {"model": probabilities["test"]}, labels, threshold
            ),
            "plots/test_roc_pr.png",
        )
        plt.close("all")

        spec = ModelSpec(
            network=fitted.network_config,
            labels=labels,
            max_len=fitted.encoder.max_len,  # what the model reads, wide path included
            normalization=encoder.normalizer,
            thresholds=thresholds,
            **config.get("serving", {}),
        )
        artifacts = save_model_files(result.network, tokenizer_file, spec, work / "model_files")
        info = log_pyfunc_model(artifacts, labels, INPUT_EXAMPLE)
        mlflow.set_tags(
            {
                MODEL_URI_TAG: info.model_uri,
                PREPROCESS_RUN_TAG: preprocess_run,
                PARAMS_FROM_TAG: params_from,
            }
        )
        click.echo(
            f"train: best epoch {result.best_epoch}, "
            f"val macro ROC-AUC {final['val_macro_roc_auc']:.4f}, "
            f"test macro ROC-AUC {final['test_macro_roc_auc']:.4f}; model {info.model_uri}"
        )


if __name__ == "__main__":
    main()

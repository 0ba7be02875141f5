"""train: fit the BiLSTM on the preprocessed splits and log the pyfunc model with its metrics."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
import matplotlib.pyplot as plt
import mlflow
import torch

from pyfunc.encoding import TextEncoder
from pyfunc.network import NetworkConfig, ToxicityNet
from pyfunc.scoring import ModelSpec
from pyfunc.text import Normalizer
from steps.common import ACCEPT_EXTRA_OPTIONS, DEFAULT_CONFIG, extra_options, step_run, user_errors
from steps.preprocess import DATA_DIR, TOKENIZER_ARTIFACT
from toxic_mlops.config import (
    ConfigError,
    apply_overrides,
    dataset_config,
    flatten,
    load_config,
    training_config,
)
from toxic_mlops.dataset import TEXT, load_splits
from toxic_mlops.evaluation import tune_thresholds
from toxic_mlops.metrics import macro, roc_auc_per_label
from toxic_mlops.packaging import log_pyfunc_model, save_model_files
from toxic_mlops.plots import loss_curve, roc_pr_curves
from toxic_mlops.tracking import download_run_artifacts, latest_finished_run
from toxic_mlops.training import (
    EpochResult,
    configure_threads,
    encode_split,
    predict_split,
    seed_everything,
    train,
)

MODEL_URI_TAG = "toxic.model_uri"
PREPROCESS_RUN_TAG = "toxic.preprocess_run"  # "" when trained from a data_dir
TUNABLE_SECTIONS = ("model", "training")
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
@click.pass_context
@user_errors
def main(ctx: click.Context, config_path: str, preprocess_run: str, data_dir: str) -> None:
    """Any model/training setting can be overridden: -P epochs=2 -P hidden_size=64 ..."""
    if preprocess_run and data_dir:
        raise ConfigError("give one of -P preprocess_run=<run id> or -P data_dir=<path>, not both")
    config = apply_overrides(load_config(config_path), extra_options(ctx.args), TUNABLE_SECTIONS)
    dataset = dataset_config(config)
    settings = training_config(config)
    labels, threshold = dataset.label_columns, dataset.positive_threshold

    with step_run("train") as run, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if not data_dir and not preprocess_run:
            preprocess_run = latest_finished_run(run.info.experiment_id, "preprocess", config_path)
            click.echo(f"train: using the latest preprocess run {preprocess_run}")
        if preprocess_run:
            data = download_run_artifacts(preprocess_run, DATA_DIR, work / "in")
            tokenizer_file = download_run_artifacts(preprocess_run, TOKENIZER_ARTIFACT, work / "in")
        else:
            data, tokenizer_file = Path(data_dir), Path(data_dir) / Path(TOKENIZER_ARTIFACT).name
        splits = load_splits(data)
        mlflow.log_params(flatten(config, TUNABLE_SECTIONS))
        configure_threads(settings.num_threads)

        normalizer = Normalizer.from_dict(config.get("normalization"))
        encoder = TextEncoder.from_file(tokenizer_file, normalizer, settings.max_len)
        encoded = {
            name: encode_split(encoder, part[TEXT].tolist(), part[labels].to_numpy())
            for name, part in splits.items()
        }
        network_config = NetworkConfig(
            vocab_size=encoder.tokenizer.get_vocab_size(),
            num_labels=len(labels),
            padding_idx=encoder.pad_id,
            **config["model"],
        )
        seed_everything(settings.seed)  # the initial weights too
        result = train(
            ToxicityNet(network_config),
            encoder,
            encoded["train"],
            encoded["val"],
            labels,
            settings,
            threshold,
            on_epoch=log_epoch,
        )

        final: dict[str, float] = {"best_epoch": result.best_epoch}
        probabilities = {}
        for name in ("val", "test"):
            loss, probabilities[name] = predict_split(
                result.network, encoder, encoded[name], settings.batch_size, CPU
            )
            aucs = roc_auc_per_label(encoded[name].targets, probabilities[name], labels, threshold)
            final.update({f"{name}_loss": loss, f"{name}_macro_roc_auc": macro(aucs)})
            final.update({f"{name}_roc_auc_{label}": auc for label, auc in aucs.items()})
        thresholds = tune_thresholds(
            encoded["val"].targets, probabilities["val"], labels, threshold
        )
        mlflow.log_metrics(final)
        mlflow.log_dict(thresholds, "thresholds.json")
        mlflow.log_figure(loss_curve(result.history), "plots/loss_curve.png")
        mlflow.log_figure(
            roc_pr_curves(
                encoded["test"].targets, {"model": probabilities["test"]}, labels, threshold
            ),
            "plots/test_roc_pr.png",
        )
        plt.close("all")

        spec = ModelSpec(
            network=network_config,
            labels=labels,
            max_len=settings.max_len,
            normalization=normalizer,
            thresholds=thresholds,
            **config.get("serving", {}),
        )
        artifacts = save_model_files(result.network, tokenizer_file, spec, work / "model_files")
        info = log_pyfunc_model(artifacts, labels, INPUT_EXAMPLE)
        mlflow.set_tags({MODEL_URI_TAG: info.model_uri, PREPROCESS_RUN_TAG: preprocess_run})
        click.echo(
            f"train: best epoch {result.best_epoch}, "
            f"val macro ROC-AUC {final['val_macro_roc_auc']:.4f}, "
            f"test macro ROC-AUC {final['test_macro_roc_auc']:.4f}; model {info.model_uri}"
        )


if __name__ == "__main__":
    main()

"""train: fit the BiLSTM on the preprocessed splits and log the pyfunc model with its metrics."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import click
import mlflow

from toxic_mlops.cli import (
    ACCEPT_EXTRA_OPTIONS,
    extra_options,
    recorded_config_option,
    user_errors,
)
from toxic_mlops.config import TRAIN_SECTIONS, Config, ConfigError, load_config
from toxic_mlops.contract import (
    DISTRIBUTED_ARTIFACT,
    DISTRIBUTED_BACKEND_PARAM,
    DISTRIBUTED_MASTER_PARAM,
    LOSS_CURVE_ARTIFACT,
    MODEL_URI_TAG,
    NB_SCALED_LABELS_PARAM,
    PARAMS_FROM_TAG,
    PREPROCESS_RUN_TAG,
    SPANS_REPORT_ARTIFACT,
    THRESHOLDS_ARTIFACT,
    TRAIN_ROC_PR_ARTIFACT,
    TRAINED_DEVICE_PARAM,
    TRAINED_PRECISION_PARAM,
    WIDE_SOLVER_PARAM,
)
from toxic_mlops.data.download import default_cache_dir
from toxic_mlops.mlflow_io.configs import training_input
from toxic_mlops.mlflow_io.inputs import (
    load_best_params,
    preprocessed_embeddings,
    preprocessed_inputs,
)
from toxic_mlops.mlflow_io.logs import log_epoch, log_figures, say
from toxic_mlops.mlflow_io.packaging import log_pyfunc_model, save_model_files
from toxic_mlops.mlflow_io.runs import step_run
from toxic_mlops.model.assessment import TrainedModel, assess
from toxic_mlops.model.training import fit
from toxic_mlops.plots import loss_curve, roc_pr_curves
from toxic_mlops.spans.training import with_spans

INPUT_EXAMPLE = ["Thanks, that was really helpful.", "You are a total idiot."]


@dataclass(frozen=True)
class LoggedModel:
    trained: TrainedModel
    model_uri: str


def train_step(
    config_path: str,
    overrides: Mapping[str, str],
    preprocess_run: str,
    data_dir: str,
    params_from: str,
) -> LoggedModel:
    """Fit the config's network (tuned params first, explicit -P settings win), log the model.

    No config_path: the one the data was preprocessed with (configs.training_input)."""
    if preprocess_run and data_dir:
        raise ConfigError("give one of -P preprocess_run=<run id> or -P data_dir=<path>, not both")
    tuned = load_best_params(params_from) if params_from else {}
    with step_run("train") as run, tempfile.TemporaryDirectory() as tmp:
        preprocess_run, config_path = training_input(
            run, "train", config_path, preprocess_run, data_dir, params_from
        )
        config = load_config(config_path, {**tuned, **overrides}, TRAIN_SECTIONS)
        splits, tokenizer_file = preprocessed_inputs(preprocess_run, data_dir, Path(tmp))
        embeddings = preprocessed_embeddings(
            preprocess_run, data_dir, config.model.pretrained_embeddings, Path(tmp)
        )
        mlflow.log_params(config.params(TRAIN_SECTIONS))
        fitted = fit(config, splits, tokenizer_file, log_epoch, embeddings)
        trained, spans = with_spans(assess(fitted, config), config, default_cache_dir())
        if spans is not None:
            say(f"train: {spans.summary()}")
            mlflow.log_params(config.params(["spans"]))
            mlflow.log_metrics(spans.metrics())
            mlflow.log_dict(asdict(spans), SPANS_REPORT_ARTIFACT)
        model_uri = _log_trained(trained, config, tokenizer_file, Path(tmp))
        mlflow.set_tags(
            {
                MODEL_URI_TAG: model_uri,
                PREPROCESS_RUN_TAG: preprocess_run,
                PARAMS_FROM_TAG: params_from,
            }
        )
    return LoggedModel(trained, model_uri)


def _log_trained(trained: TrainedModel, config: Config, tokenizer_file: Path, work: Path) -> str:
    labels, threshold = config.dataset.label_columns, config.dataset.positive_threshold
    result = trained.fitted.result
    mlflow.log_metrics(trained.metrics)
    mlflow.log_params(
        {
            NB_SCALED_LABELS_PARAM: ",".join(result.nb_scaled_labels),
            WIDE_SOLVER_PARAM: result.wide_solver,
            TRAINED_DEVICE_PARAM: result.device,
            TRAINED_PRECISION_PARAM: result.precision,
        }
    )
    if result.distributed is not None:
        say(f"train: {result.distributed.sentence()}")
        mlflow.log_params(
            {
                DISTRIBUTED_MASTER_PARAM: result.distributed.master,
                DISTRIBUTED_BACKEND_PARAM: result.distributed.backend,
            }
        )
        mlflow.log_metrics(result.distributed.metrics())
        mlflow.log_dict(result.distributed.to_dict(), DISTRIBUTED_ARTIFACT)
    mlflow.log_dict(trained.spec.thresholds, THRESHOLDS_ARTIFACT)
    test_targets = trained.fitted.encoded["test"].targets
    log_figures(
        {
            LOSS_CURVE_ARTIFACT: loss_curve(result.history),
            TRAIN_ROC_PR_ARTIFACT: roc_pr_curves(
                test_targets, {"model": trained.probabilities["test"]}, labels, threshold
            ),
        }
    )
    files = save_model_files(result.network, tokenizer_file, trained.spec, work / "model_files")
    return log_pyfunc_model(files, labels, INPUT_EXAMPLE).model_uri


@click.command(context_settings=ACCEPT_EXTRA_OPTIONS)
@recorded_config_option
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
    -P processes=2 [-P master=spark://host:7077] trains the deep network in 2 DDP processes.
    """
    overrides = extra_options(ctx.args)
    logged = train_step(config_path, overrides, preprocess_run, data_dir, params_from)
    click.echo(f"train: {logged.trained.summary()}; model {logged.model_uri}")


if __name__ == "__main__":
    main()

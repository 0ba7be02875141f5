"""preprocess: check the schema, clean, split (stratified), train the tokenizer on train only."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
import mlflow

from toxic_mlops.cli import recorded_config_option, user_errors
from toxic_mlops.config import DEFAULT_CONFIG_PATH, Config, ConfigError, load_config
from toxic_mlops.contract import (
    DOWNLOAD_RUN_TAG,
    EMBEDDINGS_ARTIFACT,
    PROFILE_ARTIFACT,
    RAW_ARTIFACT,
    RAW_DATA_TAG,
    SPLITS_ARTIFACT,
    TOKENIZER_ARTIFACT,
)
from toxic_mlops.data.dataset import save_splits
from toxic_mlops.data.preprocessing import Preprocessed, preprocess, read_raw
from toxic_mlops.mlflow_io.configs import upstream_run, use_config
from toxic_mlops.mlflow_io.logs import log_dataset, log_validation, say
from toxic_mlops.mlflow_io.runs import download_run_artifacts, local_copy, step_run
from toxic_mlops.monitoring.validation import validate_batch


def preprocess_step(config_path: str, download_run: str, raw_data: str) -> Preprocessed:
    """Validate, clean and split a download run's sample (default: the newest) or a file.

    No config_path: the download run's (a file: the default config)."""
    if download_run and raw_data:
        raise ConfigError("give one of -P download_run=<run id> or -P raw_data=<path>, not both")
    with step_run("preprocess") as run, tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        if raw_data:
            why = "" if config_path else "the default: a file carries no config"
            config_path = use_config("preprocess", config_path or DEFAULT_CONFIG_PATH, why)
        else:
            download_run, config_path = upstream_run(
                run, "preprocess", "download", download_run, config_path
            )
        config = load_config(config_path)
        dataset = config.dataset
        raw_path = (
            download_run_artifacts(download_run, RAW_ARTIFACT, out / "in")
            if download_run
            else local_copy(raw_data, out / "in")
        )
        mlflow.set_tags({DOWNLOAD_RUN_TAG: download_run, RAW_DATA_TAG: raw_data})
        raw = read_raw(raw_path, config)
        report = validate_batch(raw, dataset, config.normalization, config.validation)
        log_validation(report, raw_data or f"download run {download_run}")
        result = preprocess(raw, config)  # stops with every schema problem named
        for warning in report.warnings:
            say(f"preprocess: warning: {warning.name}: {warning.detail}")
        _log_preprocessed(result, config, out)
    return result


def _log_preprocessed(result: Preprocessed, config: Config, out: Path) -> None:
    save_splits(result.splits, out / SPLITS_ARTIFACT)
    tokenizer_path = out / TOKENIZER_ARTIFACT
    tokenizer_path.parent.mkdir()
    result.tokenizer.save(str(tokenizer_path))
    mlflow.log_artifacts(str(out / SPLITS_ARTIFACT), artifact_path=SPLITS_ARTIFACT)
    mlflow.log_artifact(str(tokenizer_path), artifact_path=str(Path(TOKENIZER_ARTIFACT).parent))
    if result.embeddings is not None:
        result.embeddings.save(out / EMBEDDINGS_ARTIFACT)
        mlflow.log_artifacts(str(out / EMBEDDINGS_ARTIFACT), artifact_path=EMBEDDINGS_ARTIFACT)
    mlflow.log_dict(result.profile(config), PROFILE_ARTIFACT)
    mlflow.log_metrics(result.metrics())
    for name, part in result.splits.items():
        log_dataset(part, f"{config.dataset.name}-{name}", context=name)


@click.command()
@recorded_config_option
@click.option("--download-run", default="", help="Run id of a finished download step.")
@click.option(
    "--raw-data", default="", help="Or a CSV/CSV.gz/parquet file: a path or an artifact URI."
)
@user_errors
def main(config_path: str, download_run: str, raw_data: str) -> None:
    result = preprocess_step(config_path, download_run, raw_data)
    click.echo(f"preprocess: {result.summary()}")


if __name__ == "__main__":
    main()

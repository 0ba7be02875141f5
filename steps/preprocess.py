"""preprocess: check the schema, clean, split (stratified), train the tokenizer on train only."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
import mlflow

from steps.common import DEFAULT_CONFIG, step_run, user_errors
from steps.validate import log_validation
from toxic_mlops.config import ConfigError, load_config
from toxic_mlops.data.dataset import (
    clean,
    profile,
    save_splits,
    split_frame,
    standardize,
    validate_schema,
)
from toxic_mlops.data.download import read_table
from toxic_mlops.data.tokenizer import train_tokenizer
from toxic_mlops.mlflow_io.runs import (
    DOWNLOAD_RUN_TAG,
    RAW_ARTIFACT,
    RAW_DATA_TAG,
    SPLITS_ARTIFACT,
    TOKENIZER_ARTIFACT,
    download_run_artifacts,
    latest_finished_run,
    local_copy,
)
from toxic_mlops.monitoring.validation import validate_batch


@click.command()
@click.option("--config", "config_path", default=DEFAULT_CONFIG, show_default=True)
@click.option("--download-run", default="", help="Run id of a finished download step.")
@click.option(
    "--raw-data", default="", help="Or a CSV/CSV.gz/parquet file: a path or an artifact URI."
)
@user_errors
def main(config_path: str, download_run: str, raw_data: str) -> None:
    if download_run and raw_data:
        raise ConfigError("give one of -P download_run=<run id> or -P raw_data=<path>, not both")
    config = load_config(config_path)
    dataset, normalizer = config.dataset, config.normalization

    with step_run("preprocess") as run, tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        if not raw_data and not download_run:
            download_run = latest_finished_run(run.info.experiment_id, "download", config_path)
            click.echo(f"preprocess: using the latest download run {download_run}")
        raw_path = (
            download_run_artifacts(download_run, RAW_ARTIFACT, out / "in")
            if download_run
            else local_copy(raw_data, out / "in")
        )
        mlflow.set_tags({DOWNLOAD_RUN_TAG: download_run, RAW_DATA_TAG: raw_data})
        raw, _ = standardize(read_table(raw_path, str(raw_path)), dataset)
        report = validate_batch(raw, dataset, normalizer, config.validation)
        log_validation(report, raw_data or f"download run {download_run}")
        validate_schema(raw, dataset)  # stops with every schema problem named
        for warning in report.warnings:
            click.echo(f"preprocess: warning: {warning.name}: {warning.detail}")
        cleaned, stats = clean(raw, dataset, normalizer)
        splits = split_frame(
            cleaned, dataset.stratify_column, dataset.positive_threshold, config.split
        )

        save_splits(splits, out / SPLITS_ARTIFACT)
        tokenizer = train_tokenizer(
            splits["train"]["text"].tolist(),
            normalizer,
            config.tokenizer.vocab_size,
            config.tokenizer.min_frequency,
        )
        (out / "tokenizer").mkdir()
        tokenizer.save(str(out / TOKENIZER_ARTIFACT))

        mlflow.log_artifacts(str(out / SPLITS_ARTIFACT), artifact_path=SPLITS_ARTIFACT)
        mlflow.log_artifact(str(out / TOKENIZER_ARTIFACT), artifact_path="tokenizer")
        mlflow.log_dict(
            {
                "cleaning": stats,
                "splits": profile(splits, dataset.label_columns, dataset.positive_threshold),
            },
            "profile.json",
        )
        mlflow.log_metrics(
            {
                **stats,
                **{f"rows_{name}": len(part) for name, part in splits.items()},
                "vocab_size": tokenizer.get_vocab_size(),
            }
        )
        for name, part in splits.items():
            mlflow.log_input(
                mlflow.data.from_pandas(part, name=f"{dataset.name}-{name}"), context=name
            )
        click.echo(
            "preprocess: "
            + ", ".join(f"{name} {len(part):,}" for name, part in splits.items())
            + f" rows; dropped {stats['rows_empty']} empty, {stats['rows_duplicate']} duplicate;"
            + f" vocabulary {tokenizer.get_vocab_size():,}"
        )


if __name__ == "__main__":
    main()

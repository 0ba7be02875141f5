"""The download and preprocess steps as MLflow runs: inputs fetched, results logged."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import mlflow

from toxic_mlops.config import Config, ConfigError
from toxic_mlops.contract import (
    DATA_NAME_TAG,
    DATA_SAMPLE_FRACTION_TAG,
    DATA_SHA256_TAG,
    DATA_SOURCES_TAG,
    DOWNLOAD_RUN_TAG,
    EMBEDDINGS_ARTIFACT,
    PROFILE_ARTIFACT,
    RAW_ARTIFACT,
    RAW_DATA_TAG,
    SOURCES_ARTIFACT,
    SPLITS_ARTIFACT,
    TOKENIZER_ARTIFACT,
    VALIDATION_REPORT_ARTIFACT,
    VALIDATION_STATUS_TAG,
)
from toxic_mlops.data.dataset import save_splits, standardize
from toxic_mlops.data.download import (
    DownloadError,
    FetchedFile,
    default_cache_dir,
    load_sources,
    read_table,
)
from toxic_mlops.data.preprocessing import Preprocessed, preprocess
from toxic_mlops.data.raw import RawSample, sample_raw
from toxic_mlops.mlflow_io.logs import log_report, say
from toxic_mlops.mlflow_io.runs import (
    download_run_artifacts,
    latest_finished_run,
    local_copy,
    step_run,
)
from toxic_mlops.monitoring.validation import ValidationReport, validate_batch


def data_tags(sources: list[str], files: list[FetchedFile]) -> dict[str, str]:
    """What a run read: the sources as given (JSON) and the digest of every file fetched."""
    return {
        DATA_SOURCES_TAG: json.dumps(sources),
        DATA_SHA256_TAG: ",".join(f.sha256 for f in files),
    }


def log_validation(report: ValidationReport, source: str) -> str:
    """Report artifacts, counts and the validation.status tag on the active run; the status."""
    status = "fail" if report.failures else "warn" if report.warnings else "ok"
    log_report(report, f"Validation of {source}", VALIDATION_REPORT_ARTIFACT)
    mlflow.log_metrics(
        {
            "validation_failures": len(report.failures),
            "validation_warnings": len(report.warnings),
        }
    )
    mlflow.set_tag(VALIDATION_STATUS_TAG, status)
    return status


def download_step(
    config: Config, sources: list[str], hashes: list[str], fraction: float | None
) -> tuple[RawSample, list[FetchedFile]]:
    """Fetch and verify the sources (default: the config's), log a stratified sample."""
    dataset = config.dataset
    hashes = hashes or ([] if sources else dataset.sha256)
    sources = sources or dataset.sources
    fraction = config.sample.fraction if fraction is None else fraction
    if not sources:
        raise DownloadError("no source: set dataset.sources in the config or pass -P source=...")
    with step_run("download"), tempfile.TemporaryDirectory() as tmp:
        frame, files = load_sources(sources, hashes, default_cache_dir())
        raw = sample_raw(frame, dataset, fraction, config.sample.seed)
        raw_path = Path(tmp) / Path(RAW_ARTIFACT).name
        raw.sample.to_parquet(raw_path, index=False)
        mlflow.log_artifact(str(raw_path), artifact_path=str(Path(RAW_ARTIFACT).parent))
        manifest = [{"source": f.source, "sha256": f.sha256} for f in files]
        mlflow.log_dict({"files": manifest, "rows_source": raw.rows_source}, SOURCES_ARTIFACT)
        mlflow.log_metrics(raw.metrics())
        mlflow.set_tags(
            {
                DATA_NAME_TAG: dataset.name,
                **data_tags(sources, files),
                DATA_SAMPLE_FRACTION_TAG: str(fraction),
            }
        )
        mlflow.log_input(
            mlflow.data.from_pandas(raw.sample, source=files[0].source, name=f"{dataset.name}-raw"),
            context="raw",
        )
    return raw, files


def preprocess_step(
    config: Config, config_path: str, download_run: str, raw_data: str
) -> Preprocessed:
    """Validate, clean and split a download run's sample (default: the newest) or a file."""
    if download_run and raw_data:
        raise ConfigError("give one of -P download_run=<run id> or -P raw_data=<path>, not both")
    dataset = config.dataset
    with step_run("preprocess") as run, tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        if not raw_data and not download_run:
            download_run = latest_finished_run(run.info.experiment_id, "download", config_path)
            say(f"preprocess: using the latest download run {download_run}")
        raw_path = (
            download_run_artifacts(download_run, RAW_ARTIFACT, out / "in")
            if download_run
            else local_copy(raw_data, out / "in")
        )
        mlflow.set_tags({DOWNLOAD_RUN_TAG: download_run, RAW_DATA_TAG: raw_data})
        raw, _ = standardize(read_table(raw_path, str(raw_path)), dataset)
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
        mlflow.log_input(
            mlflow.data.from_pandas(part, name=f"{config.dataset.name}-{name}"), context=name
        )

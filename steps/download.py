"""download: fetch the raw comments, verify and cache them, log a stratified sample."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
import mlflow

from toxic_mlops.cli import config_option, split_list, user_errors
from toxic_mlops.config import load_config
from toxic_mlops.contract import (
    DATA_NAME_TAG,
    DATA_SAMPLE_FRACTION_TAG,
    RAW_ARTIFACT,
    SOURCES_ARTIFACT,
)
from toxic_mlops.data.download import DownloadError, FetchedFile, default_cache_dir, load_sources
from toxic_mlops.data.raw import RawSample, sample_raw
from toxic_mlops.mlflow_io.configs import use_config
from toxic_mlops.mlflow_io.logs import data_tags, log_dataset
from toxic_mlops.mlflow_io.runs import step_run


def download_step(
    config_path: str, sources: list[str], hashes: list[str], fraction: float | None
) -> tuple[RawSample, list[FetchedFile]]:
    """Fetch and verify the sources (default: the config's), log a stratified sample."""
    config = load_config(config_path)
    dataset = config.dataset
    hashes = hashes or ([] if sources else dataset.sha256)
    sources = sources or dataset.sources
    fraction = config.sample.fraction if fraction is None else fraction
    if not sources:
        raise DownloadError("no source: set dataset.sources in the config or pass -P source=...")
    with step_run("download"), tempfile.TemporaryDirectory() as tmp:
        use_config("download", config_path)
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
        log_dataset(raw.sample, f"{dataset.name}-raw", "raw", source=files[0].source)
    return raw, files


@click.command()
@config_option
@click.option("--source", default="", help="Comma-separated paths/URLs replacing the config's.")
@click.option("--sha256", default="", help="Comma-separated sha256 per source (optional).")
@click.option("--sample-fraction", default="", help="Fraction to keep; empty = the config's.")
@user_errors
def main(config_path: str, source: str, sha256: str, sample_fraction: str) -> None:
    fraction = float(sample_fraction) if sample_fraction else None
    raw, files = download_step(config_path, split_list(source), split_list(sha256), fraction)
    stratified_on = load_config(config_path).dataset.stratify_column
    click.echo(
        f"download: {raw.rows_source:,} rows from {len(files)} file(s), kept "
        f"{len(raw.sample):,} ({raw.fraction:.0%} stratified on {stratified_on})"
    )


if __name__ == "__main__":
    main()

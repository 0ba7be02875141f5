"""download: fetch the raw comments, verify and cache them, log a stratified sample."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import click
import mlflow
import pandas as pd

from steps.common import DEFAULT_CONFIG, split_list, step_run, user_errors
from toxic_mlops.config import load_config
from toxic_mlops.data.dataset import standardize
from toxic_mlops.data.download import (
    DownloadError,
    default_cache_dir,
    load_sources,
    stratified_sample,
)
from toxic_mlops.mlflow_io.runs import RAW_ARTIFACT


@click.command()
@click.option("--config", "config_path", default=DEFAULT_CONFIG, show_default=True)
@click.option("--source", default="", help="Comma-separated paths/URLs replacing the config's.")
@click.option("--sha256", default="", help="Comma-separated sha256 per source (optional).")
@click.option("--sample-fraction", default="", help="Fraction to keep; empty = the config's.")
@user_errors
def main(config_path: str, source: str, sha256: str, sample_fraction: str) -> None:
    config = load_config(config_path)
    dataset = config.dataset
    sources = split_list(source) or dataset.sources
    hashes = split_list(sha256) or ([] if source else dataset.sha256)
    fraction = float(sample_fraction) if sample_fraction else config.sample.fraction
    if not sources:
        raise DownloadError("no source: set dataset.sources in the config or pass -P source=...")

    with step_run("download"), tempfile.TemporaryDirectory() as tmp:
        frame, files = load_sources(sources, hashes, default_cache_dir())
        frame, unlabelled = standardize(frame, dataset)
        sample = stratified_sample(
            frame,
            dataset.stratify_column,
            dataset.positive_threshold,
            fraction,
            config.sample.seed,
        )

        raw_path = Path(tmp) / Path(RAW_ARTIFACT).name
        sample.to_parquet(raw_path, index=False)
        mlflow.log_artifact(str(raw_path), artifact_path=str(Path(RAW_ARTIFACT).parent))
        manifest = [{"source": f.source, "sha256": f.sha256} for f in files]
        mlflow.log_dict({"files": manifest, "rows_source": len(frame)}, "data/sources.json")
        positive_rates = {
            f"positive_rate_{label}": float(
                (pd.to_numeric(sample[label], errors="coerce") >= dataset.positive_threshold).mean()
            )
            for label in dataset.label_columns
            if label in sample.columns
        }
        mlflow.log_metrics(
            {
                "rows_source": len(frame),
                "rows_unlabelled": unlabelled,
                "rows_sampled": len(sample),
                **positive_rates,
            }
        )
        mlflow.set_tags(
            {
                "data.name": dataset.name,
                "data.sources": json.dumps(sources),
                "data.sha256": ",".join(f.sha256 for f in files),
                "data.sample_fraction": str(fraction),
            }
        )
        mlflow.log_input(
            mlflow.data.from_pandas(sample, source=files[0].source, name=f"{dataset.name}-raw"),
            context="raw",
        )
        click.echo(
            f"download: {len(frame):,} rows from {len(files)} file(s), kept {len(sample):,} "
            f"({fraction:.0%} stratified on {dataset.stratify_column})"
        )


if __name__ == "__main__":
    main()

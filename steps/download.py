"""download: fetch the raw comments, verify and cache them, log a stratified sample."""

from __future__ import annotations

import click

from steps.common import config_option, split_list, user_errors
from toxic_mlops.config import load_config
from toxic_mlops.mlflow_io.data_steps import download_step


@click.command()
@config_option
@click.option("--source", default="", help="Comma-separated paths/URLs replacing the config's.")
@click.option("--sha256", default="", help="Comma-separated sha256 per source (optional).")
@click.option("--sample-fraction", default="", help="Fraction to keep; empty = the config's.")
@user_errors
def main(config_path: str, source: str, sha256: str, sample_fraction: str) -> None:
    config = load_config(config_path)
    fraction = float(sample_fraction) if sample_fraction else None
    raw, files = download_step(config, split_list(source), split_list(sha256), fraction)
    click.echo(
        f"download: {raw.rows_source:,} rows from {len(files)} file(s), kept "
        f"{len(raw.sample):,} ({raw.fraction:.0%} stratified on {config.dataset.stratify_column})"
    )


if __name__ == "__main__":
    main()

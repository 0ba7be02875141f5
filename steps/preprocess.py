"""preprocess: check the schema, clean, split (stratified), train the tokenizer on train only."""

from __future__ import annotations

import click

from steps.common import config_option, user_errors
from toxic_mlops.config import load_config
from toxic_mlops.mlflow_io.data_steps import preprocess_step


@click.command()
@config_option
@click.option("--download-run", default="", help="Run id of a finished download step.")
@click.option(
    "--raw-data", default="", help="Or a CSV/CSV.gz/parquet file: a path or an artifact URI."
)
@user_errors
def main(config_path: str, download_run: str, raw_data: str) -> None:
    result = preprocess_step(load_config(config_path), config_path, download_run, raw_data)
    click.echo(f"preprocess: {result.summary()}")


if __name__ == "__main__":
    main()

"""batch_score: score a stored table of comments on Spark and write parquet, one column per label.

Logs rows in / scored / bad (per status), seconds and comments/s as metrics, and a histogram of
each label's scores. See docs/batch-and-proxy.md for what Spark needs and how bad rows are kept.
"""

from __future__ import annotations

import os

import click

from steps.common import config_option, user_errors
from toxic_mlops.config import load_config
from toxic_mlops.mlflow_io.batch_steps import batch_score_step


@click.command()
@config_option
@click.option("--data", required=True, help="CSV / parquet: a path, URL, s3:// (with s3fs).")
@click.option("--output", required=True, help="Local path of the parquet folder to write.")
@click.option("--model", default="", help="Model URI; empty = the registry's Production.")
@click.option("--master", default="", help="spark.master; empty = SPARK_MASTER or the config.")
@user_errors
def main(config_path: str, data: str, output: str, model: str, master: str) -> None:
    config = load_config(config_path)
    master = master or os.environ.get("SPARK_MASTER") or config.batch.master
    result = batch_score_step(config, data, output, model, master)
    click.echo(
        f"batch_score: {result.rows_in:,} rows -> {result.output}: {result.rows_scored:,} scored, "
        f"{result.rows_bad:,} bad (null or not text), "
        f"{result.metrics()['comments_per_s']:,.0f} comments/s on {master}"
    )


if __name__ == "__main__":
    main()

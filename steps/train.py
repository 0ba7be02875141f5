"""train: fit the BiLSTM on the preprocessed splits and log the pyfunc model with its metrics."""

from __future__ import annotations

import click

from steps.common import ACCEPT_EXTRA_OPTIONS, config_option, extra_options, user_errors
from toxic_mlops.mlflow_io.train_steps import train_step


@click.command(context_settings=ACCEPT_EXTRA_OPTIONS)
@config_option
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
    """
    overrides = extra_options(ctx.args)
    logged = train_step(config_path, overrides, preprocess_run, data_dir, params_from)
    click.echo(f"train: {logged.trained.summary()}; model {logged.model_uri}")


if __name__ == "__main__":
    main()

"""retrain: validate -> monitor -> (on drift, degradation or force) retrain on reference + new data.

    mlflow run . -e retrain -P new_data=<path or URL> [-P force=true] [-P epochs=3 ...]

The new batch must carry labels. The reference data is what the current Production model was
trained on (its preprocess run's splits, raw text); the combined file is logged on this run and
preprocessed, trained, evaluated and registered like any other. The register gate decides: a worse
model is never promoted, and any failure leaves Production as it was.
"""

from __future__ import annotations

import click

from steps.common import ACCEPT_EXTRA_OPTIONS, config_option, extra_options, user_errors
from toxic_mlops.config import load_config, parse_bool
from toxic_mlops.mlflow_io.loop_steps import retrain_step


@click.command(context_settings=ACCEPT_EXTRA_OPTIONS)
@config_option
@click.option("--new-data", required=True, help="Path, URL, hf:// or artifact URI, with labels.")
@click.option("--force", default="false", help="true: retrain even when monitoring says ok.")
@click.option("--model-name", default="", help="Registered model name; empty = the config's.")
@click.pass_context
@user_errors
def main(ctx: click.Context, config_path: str, new_data: str, force: str, model_name: str) -> None:
    """Extra -P settings (epochs=3 ...) are passed on to train."""
    train_overrides = extra_options(ctx.args)
    forced = parse_bool(force, "force")
    config = load_config(config_path)
    outcome = retrain_step(config, config_path, new_data, forced, model_name, train_overrides)
    click.echo(f"retrain: {outcome}")


if __name__ == "__main__":
    main()

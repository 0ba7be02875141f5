"""monitor: compare a new batch of comments with the data the Production model learnt from.

Covariate shift (tokens, unseen words, lengths), prediction drift (Production's scores) and, when
the batch has labels, concept drift (label rates, ROC-AUC against the logged test AUC). Logs
monitor/report.{md,json} and plots, tags `monitor.verdict` (ok / drift / degraded) and prints it.

Exit code: 0, unless --fail-on names a verdict this batch reaches: then 3 (drift) or 4 (degraded),
for schedulers (`mlflow run` itself turns any failure into 1).
"""

from __future__ import annotations

import sys

import click

from steps.common import config_option, user_errors
from toxic_mlops.config import ConfigError, load_config
from toxic_mlops.mlflow_io.loop_steps import monitor_step
from toxic_mlops.monitoring.monitoring import EXIT_CODES, SEVERITY

FAIL_ON = ("none", "drift", "degraded")


@click.command()
@config_option
@click.option("--data", required=True, help="Path, URL, hf:// or artifact URI of the batch.")
@click.option("--model", default="", help="Model to monitor; empty = the registry's Production.")
@click.option("--fail-on", default="none", help="none, drift or degraded: exit non-zero from it.")
@user_errors
def main(config_path: str, data: str, model: str, fail_on: str) -> None:
    if fail_on not in FAIL_ON:
        raise ConfigError(f"fail_on must be one of {', '.join(FAIL_ON)}, got {fail_on!r}")
    monitored = monitor_step(load_config(config_path), data, model)
    click.echo(f"monitor: {monitored.summary()}")
    verdict = monitored.report.verdict
    if fail_on != "none" and SEVERITY[verdict] >= SEVERITY[fail_on]:
        sys.exit(EXIT_CODES[verdict])


if __name__ == "__main__":
    main()

"""tune: Optuna search over the config's tune.search_space, one nested MLflow run per trial.

TPE sampler, median pruner on each epoch's validation macro ROC-AUC, bounded by n_trials and a
wall-clock timeout (a running trial finishes). The best params go to tune/best_params.json and
`best.*` params on this run; `mlflow run . -e train -P params_from=<this run id>` uses them.
"""

from __future__ import annotations

import click

from steps.common import ACCEPT_EXTRA_OPTIONS, config_option, extra_options, user_errors
from toxic_mlops.mlflow_io.train_steps import best_params_text, tune_step


@click.command(context_settings=ACCEPT_EXTRA_OPTIONS)
@config_option
@click.option("--preprocess-run", default="", help="Run id of a finished preprocess step.")
@click.option("--data-dir", default="", help="Or a folder with the splits + tokenizer.json.")
@click.option("--n-trials", default="", help="Empty = the config's tune.n_trials.")
@click.option("--timeout-minutes", default="", help="Empty = the config's tune.timeout_minutes.")
@click.pass_context
@user_errors
def main(
    ctx: click.Context,
    config_path: str,
    preprocess_run: str,
    data_dir: str,
    n_trials: str,
    timeout_minutes: str,
) -> None:
    """Extra -P settings (epochs=2 ...) are fixed for every trial."""
    result, run_id = tune_step(
        config_path,
        extra_options(ctx.args),
        preprocess_run,
        data_dir,
        int(n_trials) if n_trials else None,
        float(timeout_minutes) if timeout_minutes else None,
    )
    click.echo(
        f"tune: {result.complete} complete, {result.pruned} pruned; best val macro ROC-AUC "
        f"{result.study.best_value:.4f} with {best_params_text(result)}\n"
        f"tune: train with it: mlflow run . -e train -P params_from={run_id}"
    )


if __name__ == "__main__":
    main()

"""tune: Optuna search over the config's tune.search_space, one nested MLflow run per trial.

TPE sampler, median pruner on each epoch's validation macro ROC-AUC, bounded by n_trials and a
wall-clock timeout (a running trial finishes). The best params go to tune/best_params.json and
`best.*` params on this run; `mlflow run . -e train -P params_from=<this run id>` uses them.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import click
import matplotlib.pyplot as plt
import mlflow
import optuna

from steps.common import ACCEPT_EXTRA_OPTIONS, DEFAULT_CONFIG, extra_options, step_run, user_errors
from steps.train import log_epoch
from toxic_mlops.config import TUNABLE_SECTIONS, load_config, override
from toxic_mlops.errors import PipelineError
from toxic_mlops.mlflow_io.inputs import preprocessed_inputs
from toxic_mlops.mlflow_io.runs import ENTRY_POINT_TAG, latest_finished_run
from toxic_mlops.model.training import EpochResult, fit
from toxic_mlops.model.tuning import BEST_PARAMS_ARTIFACT, search_space, suggest
from toxic_mlops.plots import tuning_history

TRIAL_ENTRY_POINT = "tune-trial"  # not "train": trials log no model and must not be picked up


@click.command(context_settings=ACCEPT_EXTRA_OPTIONS)
@click.option("--config", "config_path", default=DEFAULT_CONFIG, show_default=True)
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
    config = load_config(config_path, extra_options(ctx.args))
    settings = config.tune
    dimensions = search_space(config)
    trials = int(n_trials or settings.n_trials)
    timeout = 60 * float(timeout_minutes or settings.timeout_minutes)

    with step_run("tune") as run, tempfile.TemporaryDirectory() as tmp:
        if not preprocess_run and not data_dir:
            preprocess_run = latest_finished_run(run.info.experiment_id, "preprocess", config_path)
            click.echo(f"tune: using the latest preprocess run {preprocess_run}")
        splits, tokenizer_file = preprocessed_inputs(preprocess_run, data_dir, Path(tmp))
        # What every trial starts from, and the budget (named apart from the `mlflow run` params).
        mlflow.log_params(config.params(TUNABLE_SECTIONS))
        mlflow.log_params({"tune.n_trials": trials, "tune.timeout_minutes": timeout / 60})

        def objective(trial: optuna.Trial) -> float:
            params = {d.name: suggest(d, trial) for d in dimensions}
            trial_config = override(config, {k: str(v) for k, v in params.items()})

            def report(result: EpochResult) -> None:
                log_epoch(result)
                trial.report(result.val_macro_roc_auc, result.epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned()

            pruned = False
            with mlflow.start_run(nested=True, run_name=f"trial-{trial.number}"):
                mlflow.set_tags({ENTRY_POINT_TAG: TRIAL_ENTRY_POINT, "tune.trial": trial.number})
                mlflow.log_params(params)
                click.echo(f"tune: trial {trial.number} {params}")
                try:
                    fitted = fit(trial_config, splits, tokenizer_file, on_epoch=report)
                except optuna.TrialPruned:
                    pruned = True
                    mlflow.set_tag("tune.state", "pruned")
                else:
                    score = fitted.result.best.val_macro_roc_auc
                    mlflow.log_metric("val_macro_roc_auc", score)
                    mlflow.set_tag("tune.state", "complete")
            if pruned:  # outside the run, so the trial's run still ends FINISHED
                raise optuna.TrialPruned()
            return score

        optuna.logging.set_verbosity(optuna.logging.WARNING)  # each trial reports itself
        study = optuna.create_study(
            direction="maximize",
            sampler=optuna.samplers.TPESampler(seed=settings.seed),
            pruner=optuna.pruners.MedianPruner(
                n_startup_trials=settings.pruner_startup_trials,
                n_warmup_steps=settings.pruner_warmup_epochs,
            ),
        )
        study.optimize(objective, n_trials=trials, timeout=timeout)

        done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
        if not done:
            raise PipelineError(f"no trial completed ({len(study.trials)} started)")
        mlflow.log_dict(study.best_params, BEST_PARAMS_ARTIFACT)
        mlflow.log_params({f"best.{k}": v for k, v in study.best_params.items()})
        mlflow.log_metrics(
            {
                "best_val_macro_roc_auc": study.best_value,
                "trials_complete": len(done),
                "trials_pruned": len(pruned),
            }
        )
        mlflow.log_text(study.trials_dataframe().to_csv(index=False), "tune/trials.csv")
        mlflow.log_figure(tuning_history(study.trials), "tune/history.png")
        plt.close("all")
        click.echo(
            f"tune: {len(done)} complete, {len(pruned)} pruned; best val macro ROC-AUC "
            f"{study.best_value:.4f} with {json.dumps(study.best_params)}\n"
            f"tune: train with it: mlflow run . -e train -P params_from={run.info.run_id}"
        )


if __name__ == "__main__":
    main()

"""Which config a step uses when it is given none: the one its input was made with.

`-P config=` always wins. Without it a step takes the config recorded on what it reads:

- a step that continues a run (preprocess: a download run; train and tune: a preprocess run, or
  for train with params_from, the tune run; evaluate and register: a train run) takes the config of
  the run it is given, or of the newest finished one in the experiment;
- a step that works on a registered model (validate, monitor, retrain, batch_score) takes the
  config of the model's train run (default model: `models:/toxic/Production`);
- with nothing recorded yet (a fresh store), the default, configs/toxic.yaml.

Each step records the config it used as the `toxic.config` tag and says where it came from, so
after `make demo` every command works on the demo's config without being told.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import mlflow
from mlflow.entities import Run
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from toxic_mlops.config import DEFAULT_CONFIG_PATH, ConfigError
from toxic_mlops.contract import CONFIG_TAG, PREPROCESS_RUN_TAG
from toxic_mlops.errors import PipelineError
from toxic_mlops.mlflow_io.lineage import resolve_model_version
from toxic_mlops.mlflow_io.logs import say
from toxic_mlops.mlflow_io.runs import finished_runs, get_run


def recorded_config(run: Run) -> str:
    """The config a run was made with: the tag the step set, else the `config` parameter that
    `mlflow run` logged (shell-quoted as it went into the command); "" when neither says."""
    if run.data.tags.get(CONFIG_TAG):
        return run.data.tags[CONFIG_TAG]
    logged = run.data.params.get("config", "")
    try:
        words = shlex.split(logged)
    except ValueError:
        return logged
    return words[0] if len(words) == 1 else ""


def use_config(entry_point: str, config_path: str, why: str = "") -> str:
    """Record the config on the active run; say where it came from when it was not given."""
    mlflow.set_tag(CONFIG_TAG, config_path)
    if why:
        say(f"{entry_point}: config {config_path}, {why}")
    return config_path


def _config_of(run: Run, described: str) -> str:
    path = recorded_config(run)
    if not path:
        raise ConfigError(f"{described} has no config recorded: pass -P config=<path>")
    if not Path(path).is_file():
        raise ConfigError(
            f"{described} was made with config {path}, which is not in this folder: "
            "pass -P config=<path>"
        )
    return path


def newest_upstream(experiment_id: str, entry_point: str, config_path: str) -> Run | None:
    """The newest finished run of entry_point in the experiment; made with config_path if given."""
    if not config_path:
        runs = finished_runs(experiment_id, entry_point, max_results=1)
        return runs[0] if runs else None
    runs = finished_runs(experiment_id, entry_point)
    return next((run for run in runs if recorded_config(run) == config_path), None)


def _experiment_name(experiment_id: str) -> str:
    try:
        return MlflowClient().get_experiment(experiment_id).name
    except MlflowException:
        return experiment_id


def upstream_run(
    run: Run, entry_point: str, upstream: str, given: str, config_path: str
) -> tuple[str, str]:
    """(the upstream run, the config) a step reads: the run given or the newest finished one of
    `upstream` (made with config_path when one is given); the config given, or that run's."""
    if given:
        found = get_run(given)
    else:
        found = newest_upstream(run.info.experiment_id, upstream, config_path)
        if found is None:
            raise PipelineError(_nothing_upstream(run.info.experiment_id, upstream, config_path))
        say(f"{entry_point}: using the latest {upstream} run {found.info.run_id}")
    run_id = found.info.run_id
    if config_path:
        return run_id, use_config(entry_point, config_path)
    path = _config_of(found, f"{upstream} run {run_id}")
    return run_id, use_config(entry_point, path, f"recorded on {upstream} run {run_id}")


def _nothing_upstream(experiment_id: str, upstream: str, config_path: str) -> str:
    made = f" made with config {config_path}" if config_path else ""
    chain = f" -P config={config_path}" if config_path else ""
    return (
        f"no finished {upstream} run{made} in experiment "
        f"{_experiment_name(experiment_id)!r}: run the chain first "
        f"(`mlflow run . -e main --env-manager local{chain}`, or offline `make demo`), "
        f"or pass -P {upstream}_run=<run id>"
    )


def model_config(entry_point: str, model_uri: str, config_path: str) -> str:
    """The config given, else the one the registered model's train run recorded, else (no such
    model yet) the default."""
    if config_path:
        return use_config(entry_point, config_path)
    try:
        version = resolve_model_version(MlflowClient(), model_uri)
    except PipelineError:
        why = f"the default: no {model_uri} to take one from"
        return use_config(entry_point, DEFAULT_CONFIG_PATH, why)
    described = f"{model_uri} (version {version.version}, train run {version.run_id})"
    path = _config_of(get_run(version.run_id), described)
    return use_config(entry_point, path, f"recorded on {described}")


def training_input(
    run: Run,
    entry_point: str,
    config_path: str,
    preprocess_run: str,
    data_dir: str,
    params_from: str = "",
) -> tuple[str, str]:
    """(preprocess run, config) of train or tune: a folder (no run; the config given or the
    default), the preprocess run a tune run searched on (params_from), or upstream_run's."""
    if data_dir:
        why = "" if config_path else "the default: a folder carries no config"
        return "", use_config(entry_point, config_path or DEFAULT_CONFIG_PATH, why)
    if params_from and not preprocess_run:
        tune = get_run(params_from)
        preprocess_run = tune.data.tags.get(PREPROCESS_RUN_TAG, "")
        if preprocess_run:
            say(f"{entry_point}: using preprocess run {preprocess_run}, as tune run {params_from}")
            if not config_path:
                path = _config_of(tune, f"tune run {params_from}")
                return preprocess_run, use_config(
                    entry_point, path, f"recorded on tune run {params_from}"
                )
    return upstream_run(run, entry_point, "preprocess", preprocess_run, config_path)


def model_run_config(entry_point: str, run_id: str, config_path: str) -> str:
    """The config given, else the one recorded on the run that logged a model, else the default
    (a model logged by hand records none)."""
    if config_path:
        return use_config(entry_point, config_path)
    run = get_run(run_id)
    if recorded_config(run):
        path = _config_of(run, f"run {run_id}")
        return use_config(entry_point, path, f"recorded on run {run_id}")
    return use_config(entry_point, DEFAULT_CONFIG_PATH, f"the default: run {run_id} records none")

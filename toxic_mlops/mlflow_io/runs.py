"""MLflow runs: the step's own run, experiment set-up, code version, run look-ups."""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import mlflow
from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from toxic_mlops.contract import CODE_VERSION_TAG, ENTRY_POINT_TAG
from toxic_mlops.errors import PipelineError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# What decides a step's output besides its parameters: the code and the configs it reads.
CODE_PATHS = ("MLproject", "steps", "pyfunc", "toxic_mlops", "configs")


def code_version(root: Path = PROJECT_ROOT) -> str:
    """A digest of the project's code and configs; works with or without git."""
    digest = hashlib.sha256()
    for entry in CODE_PATHS:
        base = root / entry
        files = [base] if base.is_file() else sorted(base.rglob("*"))
        for path in files:
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.relative_to(root).as_posix().encode())
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


@contextmanager
def step_run(entry_point: str) -> Iterator[Run]:
    """The run `mlflow run` made for this step (MLFLOW_RUN_ID), or a new one when run directly."""
    with mlflow.start_run() as run:
        mlflow.set_tags({ENTRY_POINT_TAG: entry_point, CODE_VERSION_TAG: code_version()})
        yield run


def ensure_experiment(name: str, artifact_root: Path) -> str:
    """The experiment's id; a new one stores artifacts under artifact_root (e.g. ./mlartifacts).

    Only applied when the experiment does not exist yet, so a tracking server's own artifact
    store is never overridden for existing experiments.
    """
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    tracking_uri = mlflow.get_tracking_uri()
    is_local_store = tracking_uri.startswith("sqlite:") or tracking_uri.startswith("file:")
    location = artifact_root.resolve().as_uri() if is_local_store else None
    return mlflow.create_experiment(name, artifact_location=location)


def get_run(run_id: str) -> Run:
    try:
        return MlflowClient().get_run(run_id)
    except mlflow.exceptions.MlflowException as error:
        raise PipelineError(f"run {run_id!r} not found in {mlflow.get_tracking_uri()}") from error


def download_run_artifacts(run_id: str, artifact_path: str, destination: Path) -> Path:
    """Local copy of a finished run's artifact (file or folder)."""
    run = get_run(run_id)
    if run.info.status != "FINISHED":
        raise PipelineError(
            f"run {run_id} is {run.info.status}, not FINISHED: its outputs are not usable"
        )
    destination.mkdir(parents=True, exist_ok=True)
    try:
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=artifact_path, dst_path=str(destination)
        )
    except (mlflow.exceptions.MlflowException, OSError) as error:
        raise PipelineError(f"run {run_id} has no artifact {artifact_path!r}: {error}") from error
    return Path(local)


def finished_runs(
    experiment_id: str, entry_point: str, extra_filter: str = "", max_results: int = 1000
) -> list[Run]:
    """FINISHED runs of entry_point matching extra_filter (MLflow search syntax), newest first."""
    wanted = f"tags.`{ENTRY_POINT_TAG}` = '{entry_point}' and attributes.status = 'FINISHED'"
    return MlflowClient().search_runs(
        [experiment_id],
        filter_string=f"{wanted} and {extra_filter}" if extra_filter else wanted,
        order_by=["attributes.start_time DESC"],
        max_results=max_results,
    )


def find_finished_run(
    experiment_id: str, entry_point: str, parameters: Mapping[str, str], version: str
) -> Run | None:
    """Newest FINISHED run of entry_point with these parameters (as strings) and code version."""
    runs = finished_runs(experiment_id, entry_point, f"tags.`{CODE_VERSION_TAG}` = '{version}'")
    # `mlflow run` logs parameters shell-quoted as they went into the command ("" is logged as '').
    wanted = {key: {str(value), shlex.quote(str(value))} for key, value in parameters.items()}
    for run in runs:
        if all(run.data.params.get(key) in values for key, values in wanted.items()):
            return run
    return None


def newest_finished_run(experiment_id: str, entry_point: str, extra_filter: str) -> Run | None:
    runs = finished_runs(experiment_id, entry_point, extra_filter, max_results=1)
    return runs[0] if runs else None


def local_copy(path_or_uri: str, destination: Path) -> Path:
    """A local file for a path, or a local copy of an MLflow artifact URI (runs:/..., ...)."""
    if "://" not in path_or_uri and not path_or_uri.startswith("runs:/"):
        return Path(path_or_uri)
    destination.mkdir(parents=True, exist_ok=True)
    try:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=path_or_uri, dst_path=str(destination)
        )
    except (mlflow.exceptions.MlflowException, OSError) as error:
        raise PipelineError(f"cannot fetch {path_or_uri}: {error}") from error
    return Path(local)

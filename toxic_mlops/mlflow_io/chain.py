"""The step chain: entry points run as `mlflow run` would, finished equal runs reused.

Shared by the two steps that run others: main (the whole chain) and retrain (from preprocess).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import mlflow
from mlflow.entities import Run
from mlflow.exceptions import ExecutionException, MlflowException
from mlflow.tracking import MlflowClient

from toxic_mlops.contract import PARENT_RUN_TAG, REGISTRY_TAG_PREFIX
from toxic_mlops.errors import PipelineError
from toxic_mlops.mlflow_io.logs import say
from toxic_mlops.mlflow_io.runs import PROJECT_ROOT, code_version, find_finished_run


@dataclass(frozen=True)
class StepRunner:
    """Runs entry points under one parent run; use_cache reuses equal finished runs."""

    experiment_id: str
    parent_run_id: str
    use_cache: bool
    caller: str  # the step that runs the chain, for its progress lines

    def run(
        self,
        entry_point: str,
        parameters: Mapping[str, str],
        reusable: Callable[[Run], bool] = lambda run: True,
    ) -> str:
        """Run one entry point, or reuse an equal finished run (same code version) that is
        `reusable`; its id."""
        parameters = {key: str(value) for key, value in parameters.items()}
        if self.use_cache:
            previous = find_finished_run(
                self.experiment_id, entry_point, parameters, code_version()
            )
            if previous is not None and reusable(previous):
                say(f"{self.caller}: reusing finished {entry_point} run {previous.info.run_id}")
                return previous.info.run_id
        say(f"{self.caller}: running {entry_point} {parameters}")
        try:
            submitted = mlflow.projects.run(
                str(PROJECT_ROOT),
                entry_point,
                parameters=parameters,
                experiment_id=self.experiment_id,
                env_manager="local",
                synchronous=True,
            )
        except ExecutionException as error:
            raise PipelineError(f"step {entry_point} failed: {error}") from error
        MlflowClient().set_tag(submitted.run_id, PARENT_RUN_TAG, self.parent_run_id)
        return submitted.run_id


def train_to_registry(
    runner: StepRunner,
    config_path: str,
    preprocess_inputs: Mapping[str, str],
    train_overrides: Mapping[str, str],
    model_name: str,
) -> dict[str, str]:
    """preprocess -> train -> evaluate -> register; the run id of each, by step name."""
    config = {"config": config_path}
    runs = {"preprocess": runner.run("preprocess", {**config, **preprocess_inputs})}
    runs["train"] = runner.run(
        "train", {**config, "preprocess_run": runs["preprocess"], **train_overrides}
    )
    runs["evaluate"] = runner.run("evaluate", {**config, "train_run": runs["train"]})
    # The same model is not registered twice: an equal register run is reused while the version
    # it registered is still there (so `make demo` twice leaves one version).
    runs["register"] = runner.run(
        "register",
        {
            **config,
            "train_run": runs["train"],
            "evaluate_run": runs["evaluate"],
            "name": model_name,
        },
        reusable=_version_still_registered,
    )
    return runs


def _version_still_registered(register_run: Run) -> bool:
    tags = register_run.data.tags
    name, version = (tags.get(REGISTRY_TAG_PREFIX + key) for key in ("model", "version"))
    if not name or not version:
        return False
    try:
        MlflowClient().get_model_version(name, version)
    except MlflowException:
        return False
    return True

"""What every step CLI shares: error reporting, the step's MLflow run, extra -P overrides."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click
import mlflow
from mlflow.entities import Run
from mlflow.exceptions import MlflowException

from toxic_mlops.errors import PipelineError
from toxic_mlops.mlflow_io.runs import CODE_VERSION_TAG, ENTRY_POINT_TAG, code_version

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_CONFIG = "configs/toxic.yaml"
# Lets `mlflow run -P epochs=3` through: MLflow passes undeclared parameters as `--epochs 3`.
ACCEPT_EXTRA_OPTIONS = {"ignore_unknown_options": True, "allow_extra_args": True}


def user_errors(command: F) -> F:
    """Report the user's errors (bad input, config, data, registry state) as one clear line."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except PipelineError as error:
            raise click.ClickException(str(error)) from error
        except MlflowException as error:
            raise click.ClickException(f"MLflow: {error.message}") from error

    return wrapper  # type: ignore[return-value]


@contextmanager
def step_run(entry_point: str) -> Iterator[Run]:
    """The run `mlflow run` made for this step (MLFLOW_RUN_ID), or a new one when run directly."""
    with mlflow.start_run() as run:
        mlflow.set_tags({ENTRY_POINT_TAG: entry_point, CODE_VERSION_TAG: code_version()})
        yield run


def extra_options(args: list[str]) -> dict[str, str]:
    """`--key value` / `--key=value` pairs left over by click, as {key: value}."""
    options: dict[str, str] = {}
    remaining = list(args)
    while remaining:
        token = remaining.pop(0)
        if not token.startswith("--"):
            raise click.UsageError(f"unexpected argument {token!r}; parameters are --name value")
        key, has_value, value = token[2:].partition("=")
        if not has_value:
            if not remaining:
                raise click.UsageError(f"parameter --{key} has no value")
            value = remaining.pop(0)
        options[key.replace("-", "_")] = value
    return options


def split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]

"""What every command line shares: the config option, error reporting, extra -P overrides."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click
from mlflow.exceptions import MlflowException

from toxic_mlops.config import DEFAULT_CONFIG_PATH
from toxic_mlops.errors import PipelineError

F = TypeVar("F", bound=Callable[..., Any])
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


def config_option(command: F) -> F:
    return click.option("--config", "config_path", default=DEFAULT_CONFIG_PATH, show_default=True)(
        command
    )


# The steps that read a run or a model: by default, the config that made it
# (toxic_mlops/mlflow_io/configs.py).
recorded_config_option = click.option(
    "--config",
    "config_path",
    default="",
    help="YAML config; empty: the one recorded on the run or model this step reads "
    f"(none recorded: {DEFAULT_CONFIG_PATH}).",
)


def split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]

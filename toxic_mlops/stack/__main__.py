"""stack: a local team stack (PostgreSQL + SeaweedFS S3 + MLflow server with auth) on 127.0.0.1.

python -m toxic_mlops.stack up   [--dir .stack]   (make stack-up)   start, wait until healthy
python -m toxic_mlops.stack env  [--dir .stack]                     the exports for the pipeline
python -m toxic_mlops.stack down [--dir .stack]   (make stack-down) stop what `up` started
"""

from __future__ import annotations

from pathlib import Path

import click

from toxic_mlops.cli import user_errors
from toxic_mlops.stack import PIPELINE, Stack, down, exports, up

DIR_OPTION = click.option(
    "--dir",
    "folder",
    default=".stack",
    show_default=True,
    envvar="TOXIC_STACK_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the stack keeps its data, logs, passwords, ports and PIDs.",
)


@click.group()
def main() -> None:
    pass


@main.command("up")
@DIR_OPTION
@user_errors
def up_command(folder: Path) -> None:
    stack = up(folder)
    click.echo(f"stack: PostgreSQL, SeaweedFS S3 and MLflow are up; data in {stack.root}", err=True)
    click.echo(f"stack: the tracking server is {stack.tracking_uri}; to use it:", err=True)
    click.echo(exports(stack))


@main.command("env")
@DIR_OPTION
@click.option("--user", default=PIPELINE, show_default=True, help="The MLflow user to sign in as.")
@user_errors
def env_command(folder: Path, user: str) -> None:
    click.echo(exports(Stack(folder.resolve()), user))


@main.command("down")
@DIR_OPTION
@user_errors
def down_command(folder: Path) -> None:
    stopped = down(folder)
    click.echo(f"stack: stopped {', '.join(stopped) if stopped else 'nothing (not running)'}")


if __name__ == "__main__":
    main()

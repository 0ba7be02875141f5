"""The serving commands: the model server, the page beside it, the model server behind nginx.

    python -m toxic_mlops.serving serve --model models:/toxic/Production  (mlflow models serve)
    python -m toxic_mlops.serving page --model models:/toxic/Production   (make page)
    python -m toxic_mlops.serving public --config configs/toxic.yaml     (make serve-public)

All are read-only (no MLflow run) and bind to 127.0.0.1 by default. `serve` and `public` say
which model they load and when they are ready; a user's error is one line, not a traceback.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from mlflow.tracking import MlflowClient

from toxic_mlops.cli import config_option, user_errors
from toxic_mlops.config import load_config
from toxic_mlops.mlflow_io.lineage import MODEL_URI, resolve_model_version
from toxic_mlops.serving.model_server import ModelServer
from toxic_mlops.serving.page_server import PageSettings, page_server
from toxic_mlops.serving.proxy import TOKEN_ENV, TOKEN_FILE, PublicServer

START_TIMEOUT_S = 600  # loading a large model from a remote store can take minutes


def describe_model(model_uri: str) -> str:
    """'model toxic version 3 (Production) from <source>' for a registry URI; the URI else.

    Raises the registry's one-line error when there is no such model."""
    if MODEL_URI.match(model_uri) is None:
        return f"model {model_uri}"
    version = resolve_model_version(MlflowClient(), model_uri)
    stage = f" ({version.current_stage})" if version.current_stage not in ("", "None") else ""
    return f"model {version.name} version {version.version}{stage} from {version.source}"


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # Ctrl-C, or a process manager


@contextmanager
def until_stopped() -> Iterator[None]:
    """Run the block until Ctrl-C or SIGTERM, which may come while a server still loads.

    The signal raises KeyboardInterrupt, so each server's `with` stops what it started. Later
    signals are ignored: make passes its own SIGTERM on to us, and a second interrupt would cut
    the stopping short and leave a model server running.
    """

    def interrupt(*_: object) -> None:
        for stopping in STOP_SIGNALS:
            signal.signal(stopping, signal.SIG_IGN)
        raise KeyboardInterrupt

    for stopping in STOP_SIGNALS:
        signal.signal(stopping, interrupt)
    try:
        yield
    except KeyboardInterrupt:
        pass


def wait_forever() -> None:
    while True:
        signal.pause()


@click.group()
def main() -> None:
    pass


@main.command("serve")
@click.option("--model", "model_uri", default="models:/toxic/Production", show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--workers", default=1, show_default=True)
@user_errors
def serve_command(model_uri: str, host: str, port: int, workers: int) -> None:
    """`mlflow models serve` of a model until Ctrl-C, saying what it loads and when it is ready."""
    click.echo(f"loading {describe_model(model_uri)}")
    server = ModelServer(
        model_uri,
        workers=workers,
        port=port,
        host=host,
        output=sys.stdout,
        start_timeout=START_TIMEOUT_S,
    )
    with until_stopped(), server:
        click.echo(f"ready on {server.url} (POST /invocations; Ctrl-C stops it)")
        wait_forever()
    click.echo("stopped the model server")


@main.command("page")
@click.option("--model", "model_uri", default="models:/toxic/Production", show_default=True)
@click.option(
    "--upstream",
    default="http://127.0.0.1:5000",
    show_default=True,
    help="the `mlflow models serve` URL to forward /invocations and /ping to",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, help="0: any free port")
@click.option(
    "--allow-host",
    "hosts",
    multiple=True,
    help="a host name the page is reached by besides 127.0.0.1 and localhost (repeatable)",
)
@user_errors
def page_command(model_uri: str, upstream: str, host: str, port: int, hosts: tuple[str]) -> None:
    """Serve the page to try the model, beside a running `mlflow models serve`."""
    server = page_server(PageSettings(upstream, model_uri, hosts=hosts), host, port)
    bound_host, bound_port = server.server_address[:2]
    click.echo(f"page on http://{bound_host}:{bound_port}/ ({model_uri} served at {upstream})")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@main.command("public")
@config_option
@click.option("--model", default="", help="Model URI; empty = the registry's Production.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address nginx listens on.")
@click.option("--port", default=0, show_default=True, help="nginx port; 0 = a free one.")
@click.option("--folder", default="build/proxy", show_default=True, help="nginx prefix folder.")
@user_errors
def public_command(config_path: str, model: str, host: str, port: int, folder: str) -> None:
    """`mlflow models serve` behind nginx (token, body-size limit, rate limit) until Ctrl-C.

    The token is $TOXIC_PROXY_TOKEN, or the one generated in <folder>/token
    (docs/batch-and-proxy.md).
    """
    config = load_config(config_path)
    model_uri = model or config.registry.production_uri()
    click.echo(f"loading {describe_model(model_uri)}")
    server = PublicServer(
        model_uri, Path(folder), config.serving.max_rows, config.proxy, host, port
    )
    # The token this server checks: the variable's when it is set, else the file's.
    token = (
        f"${TOKEN_ENV}"
        if os.environ.get(TOKEN_ENV, "").strip()
        else (f"$(cat {Path(folder) / TOKEN_FILE})")
    )
    with until_stopped(), server:
        click.echo(
            f"ready on {server.url} (the model server behind it on {server.socket}, reachable "
            f"through nginx only)\n"
            f'  curl {server.url}/invocations -H "Authorization: Bearer {token}" '
            "-H 'Content-Type: application/json' "
            '-d \'{"inputs": ["you are a total idiot"]}\'\nCtrl-C stops both.'
        )
        wait_forever()
    click.echo("stopped nginx and the model server")


if __name__ == "__main__":
    main()

"""serve-public: `mlflow models serve` behind nginx (token, body-size limit, rate limit).

Runs in the foreground until Ctrl-C (or SIGTERM), then stops both. The token is
$TOXIC_PROXY_TOKEN, or the one generated in <folder>/token. See docs/batch-and-proxy.md.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import click

from steps.common import config_option, user_errors
from toxic_mlops.config import load_config
from toxic_mlops.mlflow_io.proxy import TOKEN_ENV, TOKEN_FILE, PublicServer


@click.command()
@config_option
@click.option("--model", default="", help="Model URI; empty = the registry's Production.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address nginx listens on.")
@click.option("--port", default=0, show_default=True, help="nginx port; 0 = a free one.")
@click.option("--folder", default="build/proxy", show_default=True, help="nginx prefix folder.")
@user_errors
def main(config_path: str, model: str, host: str, port: int, folder: str) -> None:
    config = load_config(config_path)
    model_uri = model or config.registry.production_uri()
    server = PublicServer(
        model_uri, Path(folder), config.serving.max_rows, config.proxy, host, port
    )
    stop = threading.Event()
    for stopping in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C, or a process manager
        signal.signal(stopping, lambda *_: stop.set())
    with server:
        click.echo(
            f"serving {server.model_server.model_uri} at {server.url} (model server at "
            f"{server.model_server.url}); token: ${TOKEN_ENV} or {Path(folder) / TOKEN_FILE}\n"
            f'  curl {server.url}/invocations -H "Authorization: Bearer $(cat '
            f"{Path(folder) / TOKEN_FILE})\" -H 'Content-Type: application/json' "
            '-d \'{"inputs": ["you are a total idiot"]}\'\nCtrl-C stops both.'
        )
        stop.wait()
    click.echo("stopped nginx and the model server")


if __name__ == "__main__":
    main()

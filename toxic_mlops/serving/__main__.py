"""The serving commands: the page beside a model server, and the model server behind nginx.

    python -m toxic_mlops.serving page --model models:/toxic/Production   (make page)
    python -m toxic_mlops.serving public --config configs/toxic.yaml     (make serve-public)

Both are read-only (no MLflow run) and bind to 127.0.0.1 by default.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import click

from toxic_mlops.cli import config_option, user_errors
from toxic_mlops.config import load_config
from toxic_mlops.serving.page_server import PageSettings, page_server
from toxic_mlops.serving.proxy import TOKEN_ENV, TOKEN_FILE, PublicServer


@click.group()
def main() -> None:
    pass


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
@user_errors
def page_command(model_uri: str, upstream: str, host: str, port: int) -> None:
    """Serve the page to try the model, beside a running `mlflow models serve`."""
    server = page_server(PageSettings(upstream, model_uri), host, port)
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

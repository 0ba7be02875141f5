"""page: serve the page to try the model, beside a running `mlflow models serve`.

    python -m steps.page --model models:/toxic/Production --upstream http://127.0.0.1:5000
    (make page; make serve in another shell)

Read-only: it starts no MLflow run. Binds to 127.0.0.1 by default.
"""

from __future__ import annotations

import click

from steps.common import user_errors
from toxic_mlops.mlflow_io.page_server import PageSettings, page_server


@click.command()
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
def main(model_uri: str, upstream: str, host: str, port: int) -> None:
    server = page_server(PageSettings(upstream, model_uri), host, port)
    bound_host, bound_port = server.server_address[:2]
    click.echo(f"page on http://{bound_host}:{bound_port}/ ({model_uri} served at {upstream})")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()

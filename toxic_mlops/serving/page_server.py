"""The page to try the model: static files, a same-origin proxy to the scoring server, /model.

The browser talks to this server only (no CORS headers anywhere): it serves page/, forwards
POST /invocations and GET /ping to `mlflow models serve`, and answers GET /model with the
registered version the page is about (name, version, stage, aliases, decision thresholds).
"""

from __future__ import annotations

import http.server
import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from toxic_mlops.contract import THRESHOLDS_ARTIFACT
from toxic_mlops.errors import PipelineError
from toxic_mlops.mlflow_io.lineage import resolve_model_version

PAGE_DIR = Path(__file__).resolve().with_name("page")
MAX_REQUEST_BYTES = 2_000_000
UPSTREAM_TIMEOUT_S = 120
# The page runs its own script and styles only: injected markup could not run code even if it
# slipped past the page's escaping.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def model_info(client: MlflowClient, model_uri: str) -> dict[str, Any]:
    """The registered version behind model_uri, as the page shows it."""
    version = resolve_model_version(client, model_uri)
    try:
        path = client.download_artifacts(version.run_id, THRESHOLDS_ARTIFACT)
        thresholds = json.loads(Path(path).read_text())
    except (MlflowException, OSError):
        thresholds = {}  # a model logged without them: the page shows no threshold marks
    return {
        "model_uri": model_uri,
        "name": version.name,
        "version": version.version,
        "stage": version.current_stage,
        "aliases": list(version.aliases),
        "thresholds": thresholds,
    }


@dataclass(frozen=True)
class PageSettings:
    upstream: str  # the scoring server's base URL
    model_uri: str
    static_dir: Path = PAGE_DIR


class PageHandler(http.server.BaseHTTPRequestHandler):
    """One request to the page server; page_server() binds the settings to a subclass."""

    settings: PageSettings
    client: MlflowClient
    static: dict[str, Path]  # file name -> path: only these files are ever served

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # requests are not logged: comments are the users' data

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error_code": http.HTTPStatus(status).phrase, "message": message})

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = self.path.split("?", 1)[0]
        name = "index.html" if path == "/" else path.lstrip("/")
        if path == "/model":
            self._model()
        elif path == "/ping":
            self._forward("GET", "/ping", b"")
        elif name in self.static:
            kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
            charset = "; charset=utf-8" if kind.startswith("text/") or name.endswith(".js") else ""
            self._send(200, self.static[name].read_bytes(), kind + charset)
        else:
            self._error(404, f"no such page: {path}")

    def do_POST(self) -> None:  # noqa: N802
        if self.path.split("?", 1)[0] != "/invocations":
            self._error(404, f"no such endpoint: {self.path}")
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 < length <= MAX_REQUEST_BYTES:
            self._error(413 if length > 0 else 400, f"send 1 to {MAX_REQUEST_BYTES:,} bytes")
            return
        self._forward("POST", "/invocations", self.rfile.read(length))

    def _model(self) -> None:
        try:
            self._json(200, model_info(self.client, self.settings.model_uri))
        except PipelineError as error:
            self._error(503, str(error))
        except (MlflowException, requests.RequestException) as error:
            self._error(503, f"the model registry is not readable: {error}")

    def _forward(self, method: str, path: str, body: bytes) -> None:
        url = self.settings.upstream.rstrip("/") + path
        headers = {"Content-Type": self.headers.get("Content-Type") or "application/json"}
        try:
            answer = requests.request(
                method, url, data=body or None, headers=headers, timeout=UPSTREAM_TIMEOUT_S
            )
        except requests.Timeout:
            self._error(504, f"the model server at {self.settings.upstream} did not answer in time")
            return
        except requests.RequestException:
            self._error(
                502,
                f"the model server at {self.settings.upstream} is not reachable: "
                "is `make serve` running?",
            )
            return
        kind = answer.headers.get("Content-Type", "application/octet-stream")
        self._send(answer.status_code, answer.content, kind)


def page_server(
    settings: PageSettings, host: str, port: int, client: MlflowClient | None = None
) -> http.server.ThreadingHTTPServer:
    """A bound server (port 0: a free one); call serve_forever() to run it."""
    if not (settings.static_dir / "index.html").is_file():
        raise PipelineError(f"no page in {settings.static_dir}")
    static = {path.name: path for path in settings.static_dir.iterdir() if path.is_file()}
    handler = type(
        "BoundPageHandler",
        (PageHandler,),
        {"settings": settings, "client": client or MlflowClient(), "static": static},
    )
    return http.server.ThreadingHTTPServer((host, port), handler)

"""The page to try the model: static files, a same-origin proxy to the scoring server, /model.

The browser talks to this server only (no CORS headers anywhere): it serves page/, forwards
POST /invocations and GET /ping to `mlflow models serve`, and answers GET /model with the
registered version the page is about (name, version, stage, aliases, decision thresholds).

Only the page itself may use it: a request must name this server in its Host header (a DNS
rebinding site cannot), a POST must come from the page's own origin and send JSON (a form or a
plain-text fetch from another site is refused before it costs a forward pass), and no other site
may frame the page. Every answer, errors and unsupported methods included, carries the same
security headers; the Server header names no version.
"""

from __future__ import annotations

import http.server
import json
import mimetypes
from dataclasses import dataclass, field
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
    "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}
SERVER_NAME = "toxic-mlops-page"
ALLOWED_METHODS = "GET, POST"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
JSON_TYPE = "application/json"
# Of an error the scoring server answers, the page passes on only these fields, the message as
# one line: never a stack trace, whatever the model server's version sends.
ERROR_FIELDS = ("error_code", "message")
MAX_MESSAGE_CHARS = 500


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
    # Host names (without port) the page answers to besides the loopback ones: the names it is
    # reached by when bound to another address.
    hosts: tuple[str, ...] = field(default_factory=tuple)


def allowed_hosts(settings: PageSettings, host: str, port: int) -> frozenset[str]:
    """The Host header values the page answers: `name:port` for its loopback names, the address
    it is bound to and settings.hosts."""
    names = {*LOOPBACK_NAMES, host, *settings.hosts}
    return frozenset(f"{name}:{port}".lower() for name in names)


def upstream_error(status: int, body: bytes) -> bytes:
    """The scoring server's error answer as {"error_code", "message"}, the message one line."""
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict) or not isinstance(payload.get("message"), str):
        text = body.decode("utf-8", "replace")
        payload = {"error_code": http.HTTPStatus(status).phrase, "message": text}
    message = " ".join(payload["message"].split())[:MAX_MESSAGE_CHARS]
    kept = {name: payload[name] for name in ERROR_FIELDS if isinstance(payload.get(name), str)}
    return json.dumps({**kept, "message": message}).encode()


class PageHandler(http.server.BaseHTTPRequestHandler):
    """One request to the page server; page_server() binds the settings to a subclass."""

    settings: PageSettings
    client: MlflowClient
    static: dict[str, Path]  # file name -> path: only these files are ever served
    hosts: frozenset[str]  # the Host header values this server answers
    origins: frozenset[str]  # the origins whose POSTs it takes: http:// + each of hosts

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # requests are not logged: comments are the users' data

    def version_string(self) -> str:
        return SERVER_NAME  # http.server's default names the Python version

    def _send(
        self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in {**SECURITY_HEADERS, **(extra or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (bad request line, header too long, unknown method) as JSON
        with the security headers, like every other answer."""
        self.close_connection = True
        status = http.HTTPStatus(code)
        self._error(code, message or status.description or status.phrase)

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error_code": http.HTTPStatus(status).phrase, "message": message})

    def _host_allowed(self) -> bool:
        """A Host this server answers to (never a DNS rebinding site's name); 421 otherwise."""
        if (self.headers.get("Host") or "").lower() in self.hosts:
            return True
        self._error(421, "this server answers its own address only")
        return False

    def _same_origin(self) -> bool:
        """A POST from the page itself: its Origin (when the browser sends one) is this server,
        and it is JSON (which a cross-site form or a 'simple' fetch cannot send); 403/415."""
        origin = self.headers.get("Origin")
        fetch_site = self.headers.get("Sec-Fetch-Site", "same-origin")
        if (origin is not None and origin.lower() not in self.origins) or fetch_site not in (
            "same-origin",
            "none",
        ):
            self._error(403, "cross-site requests are refused: use the page itself")
            return False
        kind = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if kind != JSON_TYPE:
            self._error(415, f"send Content-Type: {JSON_TYPE}")
            return False
        return True

    def _refuse_method(self) -> None:
        self._send(
            405,
            json.dumps(
                {"error_code": "Method Not Allowed", "message": f"use {ALLOWED_METHODS}"}
            ).encode(),
            "application/json",
            {"Allow": ALLOWED_METHODS},
        )

    do_OPTIONS = do_PUT = do_DELETE = do_PATCH = do_HEAD = _refuse_method  # noqa: N815

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if not self._host_allowed():
            return
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
            self._error(404, "no such page")  # the path is not echoed back

    def do_POST(self) -> None:  # noqa: N802
        if not self._host_allowed():
            return
        if self.path.split("?", 1)[0] != "/invocations":
            self._error(404, "no such endpoint: POST /invocations only")
            return
        if not self._same_origin():
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
        headers = {"Content-Type": JSON_TYPE}
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
        if answer.status_code >= 400:
            body = upstream_error(answer.status_code, answer.content)
            self._send(answer.status_code, body, "application/json")
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
    server = http.server.ThreadingHTTPServer((host, port), handler)
    hosts = allowed_hosts(settings, host, server.server_address[1])
    handler.hosts = hosts
    handler.origins = frozenset(f"http://{name}" for name in hosts)
    return server

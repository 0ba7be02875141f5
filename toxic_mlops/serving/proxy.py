"""nginx in front of `mlflow models serve`: body-size limit, bearer token, rate limit, timeouts.

`mlflow models serve` has no request-size limit and no authentication. The proxy adds them:
a body over serving.max_rows x proxy.bytes_per_comment gets 413, a request without the token 401,
a client over its rate 429; /ping and /health stay open for health checks.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path
from string import Template

import requests

from toxic_mlops.config import ProxyConfig
from toxic_mlops.errors import PipelineError
from toxic_mlops.serving.model_server import ModelServer, free_port

TEMPLATE = Path(__file__).with_name("nginx.conf.template")
TOKEN_ENV = "TOXIC_PROXY_TOKEN"
TOKEN_FILE = "token"
FRAMING_BYTES = 64 * 1024  # JSON keys, brackets and quotes around the comments
NGINX_PATHS = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")


class ProxyError(PipelineError):
    """The proxy could not start; the message says why and what to install or change."""


def body_limit_bytes(max_rows: int, proxy: ProxyConfig) -> int:
    return max_rows * proxy.bytes_per_comment + FRAMING_BYTES


def find_nginx() -> str | None:
    found = shutil.which("nginx")
    return found or next((path for path in NGINX_PATHS if os.access(path, os.X_OK)), None)


def bearer_token(folder: Path) -> str:
    """$TOXIC_PROXY_TOKEN, else the token in folder/token (generated once, readable by you only)."""
    if token := os.environ.get(TOKEN_ENV, "").strip():
        return token
    path = folder / TOKEN_FILE
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(32))
    return path.read_text().strip()


def render_config(
    folder: Path, upstream: str, host: str, port: int, token: str, limits: dict[str, int]
) -> Path:
    """folder/nginx.conf (mode 0600: it holds the token) and the temp folders nginx writes to."""
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / "tmp" / name).mkdir(parents=True, exist_ok=True)
    if not token.replace("-", "").replace("_", "").isalnum():
        raise ProxyError(f"{TOKEN_ENV}: use letters, digits, - and _ only")
    text = Template(TEMPLATE.read_text()).substitute(
        prefix=folder, upstream=upstream, host=host, port=port, token=token, **limits
    )
    path = folder / "nginx.conf"
    path.touch(mode=0o600)
    path.write_text(text)
    return path


class PublicServer:
    """The model server on a private loopback port and nginx in front of it; stops both."""

    def __init__(
        self,
        model_uri: str,
        folder: Path,
        max_rows: int,
        proxy: ProxyConfig,
        host: str = "127.0.0.1",
        port: int = 0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.model_server = ModelServer(model_uri, env=env)
        self.folder, self.max_rows, self.proxy = folder.resolve(), max_rows, proxy
        self.host, self.port = host, port or free_port()
        self.url = f"http://{host}:{self.port}"
        self.token = bearer_token(self.folder)
        self.nginx: subprocess.Popen | None = None

    def limits(self) -> dict[str, int]:
        return {
            "body_limit": body_limit_bytes(self.max_rows, self.proxy),
            "max_rows": self.max_rows,
            "rate_per_second": self.proxy.rate_per_second,
            "burst": self.proxy.burst,
            "timeout": self.proxy.timeout_seconds,
        }

    def __enter__(self) -> PublicServer:
        nginx = find_nginx()
        if nginx is None:
            raise ProxyError("nginx not found: install it (Debian: apt-get install nginx-light)")
        self.model_server.__enter__()
        try:
            upstream = self.model_server.url.removeprefix("http://")
            conf = render_config(
                self.folder, upstream, self.host, self.port, self.token, self.limits()
            )
            self.nginx = subprocess.Popen(
                [
                    nginx,
                    "-p",
                    str(self.folder),
                    "-c",
                    str(conf),
                    "-e",
                    str(self.folder / "error.log"),
                ]
            )
            self._wait_for_ping()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_for_ping(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.nginx.poll() is not None:
                log = (self.folder / "error.log").read_text(errors="replace")[-2000:]
                raise ProxyError(f"nginx exited with code {self.nginx.returncode}:\n{log}")
            try:
                if requests.get(f"{self.url}/ping", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise ProxyError(f"nginx did not answer {self.url}/ping in {timeout:.0f} s")

    def __exit__(self, *_: object) -> None:
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGQUIT)  # graceful: finish the requests in flight
            try:
                self.nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
                self.nginx.wait()
        self.model_server.__exit__()

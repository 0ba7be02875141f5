"""nginx in front of `mlflow models serve`: body-size limit, bearer token, rate limit, timeouts.

`mlflow models serve` has no request-size limit and no authentication. The proxy adds them:
a body over serving.max_rows x proxy.bytes_per_comment gets 413, a request without the token 401,
a client over its rate 429; /ping and /health stay open for health checks. The model server
listens on a unix socket in a private folder, so nothing but nginx reaches it.
"""

from __future__ import annotations

import grp
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
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
SOCKET_NAME = "model.sock"
# nginx started as root runs its workers as this user (nginx's own default, made explicit).
WORKER_USER = "nobody"
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


def worker_group() -> int | None:
    """The group of nginx's worker processes when it runs as root (None: nginx runs as us)."""
    if os.geteuid() != 0:
        return None
    return pwd.getpwnam(WORKER_USER).pw_gid


def socket_folder() -> Path:
    """A new private folder for the model server's socket: only this user may enter it, and
    nginx's workers too when nginx runs as root (they run as WORKER_USER, in its group)."""
    folder = Path(tempfile.mkdtemp(prefix="toxic-model-"))  # mode 0700
    group = worker_group()
    if group is not None:
        os.chown(folder, -1, group)
        folder.chmod(0o710)
    return folder


def lock_socket(path: Path) -> None:
    """uvicorn makes its socket 0666: leave it to its owner (and nginx's workers' group)."""
    group = worker_group()
    if group is not None:
        os.chown(path, -1, group)
    path.chmod(0o600 if group is None else 0o660)


def render_config(
    folder: Path, socket: Path, host: str, port: int, token: str, limits: dict[str, int]
) -> Path:
    """folder/nginx.conf (mode 0600: it holds the token) and the temp folders nginx writes to."""
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / "tmp" / name).mkdir(parents=True, exist_ok=True)
    if not token.replace("-", "").replace("_", "").isalnum():
        raise ProxyError(f"{TOKEN_ENV}: use letters, digits, - and _ only")
    group = worker_group()
    user = "" if group is None else f"user {WORKER_USER} {grp.getgrgid(group).gr_name};\n"
    text = Template(TEMPLATE.read_text()).substitute(
        prefix=folder, socket=socket, user=user, host=host, port=port, token=token, **limits
    )
    path = folder / "nginx.conf"
    path.touch(mode=0o600)
    path.write_text(text)
    return path


class Nginx:
    """nginx in the foreground, in front of the model server's unix socket; stopped on exit."""

    def __init__(
        self, folder: Path, socket: Path, host: str, port: int, token: str, limits: dict[str, int]
    ) -> None:
        self.folder, self.socket, self.host, self.port = folder, socket, host, port
        self.token, self.limits = token, limits
        self.url = f"http://{host}:{port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Nginx:
        nginx = find_nginx()
        if nginx is None:
            raise ProxyError("nginx not found: install it (Debian: apt-get install nginx-light)")
        conf = render_config(
            self.folder, self.socket, self.host, self.port, self.token, self.limits
        )
        error_log = self.folder / "error.log"
        self.process = subprocess.Popen(
            [nginx, "-p", str(self.folder), "-c", str(conf), "-e", str(error_log)]
        )
        try:
            self._wait_for_ping()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_for_ping(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (self.folder / "error.log").read_text(errors="replace")[-2000:]
                raise ProxyError(f"nginx exited with code {self.process.returncode}:\n{log}")
            try:
                if requests.get(f"{self.url}/ping", timeout=1).status_code == 200:
                    return
            except requests.RequestException:  # refused, or accepted but not answering yet
                pass
            time.sleep(0.2)
        raise ProxyError(f"nginx did not answer {self.url}/ping in {timeout:.0f} s")

    def __exit__(self, *_: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finish the requests in flight
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class PublicServer:
    """The model server on a private unix socket and nginx in front of it; stops both."""

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
        self.folder, self.max_rows, self.proxy = folder.resolve(), max_rows, proxy
        self.host, self.port = host, port or free_port()
        self.url = f"http://{host}:{self.port}"
        self.token = bearer_token(self.folder)
        self.model_uri, self.env = model_uri, env
        self.socket = Path()
        self.model_server: ModelServer | None = None
        self.nginx: Nginx | None = None

    def limits(self) -> dict[str, int]:
        return {
            "body_limit": body_limit_bytes(self.max_rows, self.proxy),
            "max_rows": self.max_rows,
            "rate_per_second": self.proxy.rate_per_second,
            "burst": self.proxy.burst,
            "timeout": self.proxy.timeout_seconds,
        }

    def __enter__(self) -> PublicServer:
        if find_nginx() is None:  # before minutes of model loading
            raise ProxyError("nginx not found: install it (Debian: apt-get install nginx-light)")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.socket = socket_folder() / SOCKET_NAME
        # The model server's log (uvicorn's lines, the traceback of an error it answered).
        log = (self.folder / "model-server.log").open("w+b")
        self.model_server = ModelServer(self.model_uri, env=self.env, uds=self.socket, output=log)
        try:
            self.model_server.__enter__()
            lock_socket(self.socket)
            self.nginx = Nginx(
                self.folder, self.socket, self.host, self.port, self.token, self.limits()
            ).__enter__()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        if self.nginx is not None:
            self.nginx.__exit__()
        if self.model_server is not None:
            self.model_server.__exit__()
            shutil.rmtree(self.socket.parent, ignore_errors=True)

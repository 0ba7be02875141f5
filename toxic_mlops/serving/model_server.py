"""`mlflow models serve` on a loopback port or a unix socket: `make serve`, the proxy, the tests."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

from toxic_mlops.errors import PipelineError

BIN = Path(sys.executable).parent
# uvicorn reads its options from UVICORN_* variables too: this one binds a unix socket instead
# of the host and port `mlflow models serve` passes on.
UDS_ENV = "UVICORN_UDS"
# Without it, loading a model from the registry draws progress bars for every artifact.
QUIET_ENV = {"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ModelServerError(PipelineError, RuntimeError):
    """The model server did not start; the message says what it printed."""


class UnixHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection over a unix socket (the Host header still says localhost)."""

    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(str(self.path))


class ModelServer:
    """Starts the real scoring server, waits for /ping, stops it on exit.

    On 127.0.0.1:port (0: a free port), or on the unix socket `uds` when given. Its output goes
    to `output` (a file or sys.stdout), by default to a private temporary file.
    """

    def __init__(
        self,
        model_uri: str,
        env: dict[str, str] | None = None,
        workers: int = 1,
        cwd: Path | None = None,
        start_timeout: float = 180,
        port: int = 0,
        uds: Path | None = None,
        output: IO | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.model_uri, self.workers, self.cwd, self.uds = model_uri, workers, cwd, uds
        self.host = host
        # The venv's bin first: `mlflow models serve` starts uvicorn by name.
        self.env = {
            **QUIET_ENV,
            **(env or os.environ),
            "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        }
        if uds is not None:
            self.env[UDS_ENV] = str(uds)
        self.start_timeout = start_timeout
        self.port = port
        self.url = f"unix:{uds}" if uds is not None else ""
        self.process: subprocess.Popen | None = None
        # A file, not a pipe: nobody reads the access log while serving, and a full pipe blocks.
        self.log = output if output is not None else tempfile.TemporaryFile()

    def __enter__(self) -> ModelServer:
        port = self.port or free_port()
        if self.uds is None:
            self.url = f"http://{self.host}:{port}"
        self.process = subprocess.Popen(
            [
                str(BIN / "mlflow"),
                "models",
                "serve",
                "-m",
                self.model_uri,
                "--env-manager",
                "local",
                "--host",
                self.host,
                "--port",
                str(port),
                "--workers",
                str(self.workers),
            ],
            cwd=self.cwd,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its uvicorn workers are stopped with it
        )
        try:
            self._wait_for_ping()
        except BaseException:  # Ctrl-C while loading too: never leave a server behind
            self.__exit__()
            raise
        return self

    def _wait_for_ping(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ModelServerError(
                    f"the model server exited with code {self.process.returncode}"
                    + (f":\n{self.output()[-3000:]}" if self.output() else " (its output is above)")
                )
            try:
                if self.request("GET", "/ping", timeout=1)[0] == 200:
                    return
            except OSError:
                time.sleep(0.5)
        raise ModelServerError(f"the model server did not answer /ping in {self.start_timeout} s")

    def connection(self, timeout: float) -> http.client.HTTPConnection:
        if self.uds is not None:
            return UnixHTTPConnection(self.uds, timeout)
        host, port = self.url.removeprefix("http://").rsplit(":", 1)
        return http.client.HTTPConnection(host, int(port), timeout=timeout)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> tuple[int, bytes]:
        """(status, body) of one request to the server, on its port or its socket."""
        connection = self.connection(timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            answer = connection.getresponse()
            return answer.status, answer.read()
        finally:
            connection.close()

    def output(self) -> str:
        if not hasattr(self.log, "seek") or not self.log.seekable():
            return ""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def __exit__(self, *_: object) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:  # a worker stuck in a request
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.log is not sys.stdout:
            self.log.close()

"""`mlflow models serve` on a free loopback port, for the end-to-end test and the benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ModelServer:
    """Starts the real scoring server on 127.0.0.1, waits for /ping, stops it on exit."""

    def __init__(
        self,
        model_uri: str,
        env: dict[str, str] | None = None,
        workers: int = 1,
        cwd: Path | None = None,
        start_timeout: float = 180,
    ) -> None:
        self.model_uri, self.workers, self.cwd = model_uri, workers, cwd
        # The venv's bin first: `mlflow models serve` starts uvicorn by name.
        self.env = {**(env or os.environ), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
        self.start_timeout = start_timeout
        self.url = ""
        self.process: subprocess.Popen | None = None
        # A file, not a pipe: nobody reads the access log while serving, and a full pipe blocks.
        self.log = tempfile.TemporaryFile()

    def __enter__(self) -> ModelServer:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
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
                "127.0.0.1",
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
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the model server exited:\n{self.output()[-3000:]}")
            try:
                if requests.get(f"{self.url}/ping", timeout=1).status_code == 200:
                    return self
            except requests.ConnectionError:
                time.sleep(0.5)
        self.__exit__()
        raise RuntimeError(f"the model server did not answer /ping in {self.start_timeout} s")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def __exit__(self, *_: object) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        self.log.close()

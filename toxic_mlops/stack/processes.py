"""The stack folder (ports, PIDs, secrets, logs) and the processes it starts and stops by PID."""

from __future__ import annotations

import glob
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from toxic_mlops.errors import PipelineError

HOST = "127.0.0.1"
BUCKET = "mlflow"
DATABASE, AUTH_DATABASE, DB_USER = "mlflow", "mlflow_auth", "mlflow"
ADMIN, PIPELINE, READER = "admin", "pipeline", "reader"
SECRET_NAMES = ("postgres", "database", "s3_access_key", "s3_secret_key", "flask_secret_key")
SECRET_NAMES += (ADMIN, PIPELINE, READER)
# Every port `weed mini` opens, chosen free at start: its defaults would collide with other stacks.
WEED_PORT_FLAGS = tuple(
    f"{part}.port{suffix}"
    for part in ("master", "volume", "filer", "s3", "admin")
    for suffix in ("", ".grpc")
)
SERVICES = ("postgres", "weed", "mlflow")  # start order; stopped in reverse
BIN = Path(sys.executable).parent


class StackError(PipelineError):
    """A part of the stack could not be started, reached or stopped; the message says which."""


@dataclass(frozen=True)
class Stack:
    root: Path

    @property
    def state_file(self) -> Path:
        return self.root / "stack.json"

    def state(self) -> dict:
        if not self.state_file.is_file():
            return {"ports": {}, "pids": {}}
        return json.loads(self.state_file.read_text())

    def save(self, state: dict) -> None:
        partial = self.state_file.with_suffix(".part")
        partial.write_text(json.dumps(state, indent=2))
        os.replace(partial, self.state_file)

    def secret(self, name: str) -> str:
        return (self.root / "secrets" / name).read_text().strip()

    def log(self, service: str) -> Path:
        return self.root / "logs" / f"{service}.log"

    @property
    def tracking_uri(self) -> str:
        return f"http://{HOST}:{self.state()['ports']['mlflow']}"

    @property
    def s3_endpoint(self) -> str:
        return f"http://{HOST}:{self.state()['ports']['weed']['s3.port']}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def make_secrets(stack: Stack) -> None:
    """One 0600 file per password, generated once (or from TOXIC_STACK_<NAME>); never logged."""
    folder = stack.root / "secrets"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name in SECRET_NAMES:
        path = folder / name
        if not path.exists():
            value = os.environ.get(f"TOXIC_STACK_{name.upper()}") or secrets.token_urlsafe(24)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(value)


def wait_until(
    check: Callable[[], bool], what: str, log: Path, alive: Callable[[], bool], timeout: float = 90
) -> None:
    """Poll check until it is true; fail at once, with the log's tail, if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 (a probe fails in client-specific ways until it is up)
            pass
        time.sleep(0.3)
    tail = log.read_text(errors="replace")[-2000:] if log.is_file() else ""
    problem = "is not healthy after {timeout:.0f} s" if alive() else "exited"
    raise StackError(f"{what} {problem.format(timeout=timeout)}; log {log}:\n{tail}")


def started(stack: Stack, service: str) -> Callable[[], bool]:
    """Whether the service this stack started is still running."""
    return lambda: is_running(stack.state()["pids"].get(service), service)


def is_running(pid: int | None, name: str) -> bool:
    """pid is alive and still the program we started (a PID can be reused after a crash)."""
    if not pid:
        return False
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    return name in command


def spawn(stack: Stack, service: str, command: list[str], env: dict[str, str]) -> int:
    """Start a long-running service in its own session (its children stop with it); its PID."""
    stack.log(service).parent.mkdir(parents=True, exist_ok=True)
    with stack.log(service).open("ab") as log:
        process = subprocess.Popen(
            command,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=stack.root,
        )
    return process.pid


def stop(stack: Stack, service: str, timeout: float = 30) -> None:
    """Stop the service started by this stack, by its recorded PID; the rest is left alone."""
    state = stack.state()
    pid = state["pids"].pop(service, None)
    if is_running(pid, service):
        # PostgreSQL's postmaster takes SIGINT as "fast shutdown" and stops its own children;
        # the others were started as session leaders, so their whole group goes.
        send = os.kill if service == "postgres" else os.killpg
        send(pid, signal.SIGINT if service == "postgres" else signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while is_running(pid, service) and time.monotonic() < deadline:
            time.sleep(0.2)
        if is_running(pid, service):
            send(pid, signal.SIGKILL)
    stack.save(state)


def record(stack: Stack, service: str, pid: int) -> None:
    state = stack.state()
    state["pids"][service] = pid
    stack.save(state)


def postgres_bin(program: str) -> str:
    """A PostgreSQL program from PATH or Debian's versioned folder (newest first)."""
    found = shutil.which(program)
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{program}"), reverse=True)
    if found or candidates:
        return found or candidates[0]
    raise StackError(
        f"PostgreSQL's {program} is not installed: `apt-get install postgresql` (Debian/Ubuntu)"
    )


def as_postgres_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the `postgres` system user."""
    if os.geteuid() != 0:
        return command
    try:
        pwd.getpwnam("postgres")
    except KeyError as error:
        raise StackError("as root, PostgreSQL needs a `postgres` system user to run as") from error
    return ["runuser", "-u", "postgres", "--", *command]

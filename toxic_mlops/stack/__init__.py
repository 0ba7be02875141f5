"""A team's tracking stack on one machine: PostgreSQL + SeaweedFS S3 + MLflow server with auth."""

# Everything lives under one folder (default `.stack/`): each service's data and log, the generated
# passwords (`secrets/`, one 0600 file each, or taken from TOXIC_STACK_<NAME> when first made), and
# `stack.json` with the ports chosen at start and the PIDs of what was started, so `down` stops
# exactly those. Every service listens on 127.0.0.1 only.

from __future__ import annotations

import shlex
from pathlib import Path

from toxic_mlops.stack import object_store, postgres, tracking_server
from toxic_mlops.stack.processes import (
    PIPELINE,
    SERVICES,
    WEED_PORT_FLAGS,
    Stack,
    StackError,
    free_port,
    is_running,
    make_secrets,
    stop,
)

__all__ = ["PIPELINE", "Stack", "StackError", "down", "exports", "up"]


def _choose_ports(stack: Stack) -> None:
    state = stack.state()
    state["ports"] = {
        "postgres": free_port(),
        "mlflow": free_port(),
        "weed": {flag: free_port() for flag in WEED_PORT_FLAGS},
    }
    stack.save(state)


def up(root: Path) -> Stack:
    """Start whatever of the stack is not running yet; each part is healthy when this returns."""
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)  # the postgres system user must reach its data folder inside
    stack = Stack(root.resolve())
    running = [s for s in SERVICES if is_running(stack.state()["pids"].get(s), s)]
    if running:
        raise StackError(f"already running in {stack.root}: {', '.join(running)}; run down first")
    make_secrets(stack)
    _choose_ports(stack)
    try:
        postgres.init_cluster(stack)
        postgres.start(stack)
        postgres.create_databases(stack)
        object_store.start(stack)
        tracking_server.start(stack)
        tracking_server.create_users(stack)
    except BaseException:
        down(stack.root)
        raise
    return stack


def down(root: Path) -> list[str]:
    """Stop what `up` started in root, by PID, newest first; the names of what was stopped."""
    stack = Stack(root.resolve())
    pids = stack.state()["pids"]
    stopped = [s for s in reversed(SERVICES) if is_running(pids.get(s), s)]
    for service in reversed(SERVICES):
        stop(stack, service)
    return stopped


def exports(stack: Stack, user: str = PIPELINE) -> str:
    """Shell lines that point MLflow (as user) and S3 clients at the stack; passwords by file."""
    secret = stack.root / "secrets"
    values = {
        "MLFLOW_TRACKING_URI": stack.tracking_uri,
        "MLFLOW_TRACKING_USERNAME": user,
        "MLFLOW_TRACKING_PASSWORD": f"$(cat {shlex.quote(str(secret / user))})",
        "AWS_ENDPOINT_URL": stack.s3_endpoint,
        "AWS_ACCESS_KEY_ID": f"$(cat {shlex.quote(str(secret / 's3_access_key'))})",
        "AWS_SECRET_ACCESS_KEY": f"$(cat {shlex.quote(str(secret / 's3_secret_key'))})",
    }
    return "\n".join(f'export {key}="{value}"' for key, value in values.items())

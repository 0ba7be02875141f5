"""`mlflow server` on PostgreSQL + S3 with MLflow's basic-auth app, and its users."""

from __future__ import annotations

import os

import requests

from toxic_mlops.stack import postgres
from toxic_mlops.stack.processes import (
    ADMIN,
    AUTH_DATABASE,
    BIN,
    BUCKET,
    DATABASE,
    HOST,
    PIPELINE,
    READER,
    Stack,
    StackError,
    record,
    spawn,
    started,
    wait_until,
)

# Everyone signed in may read (the team's runs and models); writing a model or an experiment
# needs a grant, which its creator gets. The read-only user gets nothing more.
DEFAULT_PERMISSION = "READ"


def _write_auth_config(stack: Stack) -> str:
    """MLflow's basic-auth settings; the admin password is passed by environment, not written."""
    path = stack.root / "basic_auth.ini"
    path.write_text(
        "[mlflow]\n"
        f"default_permission = {DEFAULT_PERMISSION}\n"
        f"database_uri = {postgres.database_uri(stack, AUTH_DATABASE)}\n"
        f"admin_username = {ADMIN}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        # Checking a password (PBKDF2) costs ~0.1-0.6 s of CPU, on every request of a pipeline
        # that makes hundreds; one worker, so no other process can hold a stale entry.
        "auth_cache_ttl_seconds = 300\n"
    )
    return str(path)


def server_environment(stack: Stack) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PGPASSWORD": stack.secret("database"),  # libpq reads it: no password in the URIs
        "AWS_ACCESS_KEY_ID": stack.secret("s3_access_key"),
        "AWS_SECRET_ACCESS_KEY": stack.secret("s3_secret_key"),
        "MLFLOW_S3_ENDPOINT_URL": stack.s3_endpoint,
        "MLFLOW_AUTH_CONFIG_PATH": _write_auth_config(stack),
        "MLFLOW_AUTH_ADMIN_PASSWORD": stack.secret(ADMIN),
        "MLFLOW_FLASK_SERVER_SECRET_KEY": stack.secret("flask_secret_key"),  # CSRF tokens
    }


def start(stack: Stack) -> None:
    """Start the server on its recorded port (the same one after a restart) and wait for it."""
    command = [
        str(BIN / "mlflow"),
        "server",
        "--host",
        HOST,
        "--port",
        str(stack.state()["ports"]["mlflow"]),
        "--backend-store-uri",
        postgres.database_uri(stack, DATABASE),
        "--artifacts-destination",
        f"s3://{BUCKET}/artifacts",
        "--app-name",
        "basic-auth",
        "--workers",
        "1",
    ]
    record(stack, "mlflow", spawn(stack, "mlflow", command, server_environment(stack)))
    health = f"{stack.tracking_uri}/health"
    wait_until(
        lambda: requests.get(health, timeout=2).status_code == 200,
        "the MLflow server",
        stack.log("mlflow"),
        started(stack, "mlflow"),
        timeout=180,
    )


def create_users(stack: Stack) -> None:
    """The pipeline's user and a read-only user, created by the admin if missing."""
    admin = (ADMIN, stack.secret(ADMIN))
    api = f"{stack.tracking_uri}/api/2.0/mlflow/users"
    for user in (PIPELINE, READER):
        found = requests.get(f"{api}/get", params={"username": user}, auth=admin, timeout=30)
        if found.status_code == 200:
            continue
        created = requests.post(
            f"{api}/create",
            json={"username": user, "password": stack.secret(user)},
            auth=admin,
            timeout=30,
        )
        if created.status_code != 200:
            raise StackError(f"creating MLflow user {user!r}: HTTP {created.status_code}")

"""PostgreSQL for the tracking server: a cluster in the stack folder, a role and two databases."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import psycopg2
from psycopg2 import sql

from toxic_mlops.stack.processes import (
    AUTH_DATABASE,
    DATABASE,
    DB_USER,
    HOST,
    Stack,
    StackError,
    as_postgres_user,
    postgres_bin,
    record,
    started,
    wait_until,
)


def _hand_to_postgres_user(*paths: os.PathLike) -> None:
    if os.geteuid() == 0:
        for path in paths:
            shutil.chown(path, "postgres", "postgres")


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(as_postgres_user(command), capture_output=True, text=True)
    if done.returncode != 0:
        raise StackError(f"{what} failed: {done.stderr.strip() or done.stdout.strip()}")


def _check_searchable(folder: Path) -> None:
    """As root, the `postgres` user must be able to walk down to its data folder."""
    if os.geteuid() != 0:
        return
    for parent in [folder, *folder.parents]:
        if not parent.stat().st_mode & stat.S_IXOTH:
            raise StackError(
                f"{parent} is not searchable by the postgres user: put the stack folder "
                f"somewhere it can reach, or `chmod o+x {parent}`"
            )


def init_cluster(stack: Stack) -> None:
    """initdb once, with password (scram) authentication for every connection."""
    folder = stack.root / "postgres"
    if (folder / "data" / "PG_VERSION").is_file():
        return
    _check_searchable(stack.root)
    folder.mkdir(mode=0o700, exist_ok=True)
    password_file = folder / "superuser-password"
    password_file.write_text(stack.secret("postgres"))
    password_file.chmod(0o600)
    _hand_to_postgres_user(folder, password_file)
    try:
        _run(
            [
                postgres_bin("initdb"),
                "--pgdata",
                str(folder / "data"),
                "--username",
                "postgres",
                "--auth",
                "scram-sha-256",
                "--pwfile",
                str(password_file),
                "--encoding",
                "UTF8",
                "--no-locale",
            ],
            "initdb",
        )
    finally:
        password_file.unlink()


def start(stack: Stack) -> None:
    port = stack.state()["ports"]["postgres"]
    data = stack.root / "postgres" / "data"
    log = stack.log("postgres")
    log.parent.mkdir(exist_ok=True)
    log.touch()
    _hand_to_postgres_user(log)
    options = f"-c listen_addresses={HOST} -p {port} -k {stack.root / 'postgres'}"
    _run(
        [postgres_bin("pg_ctl"), "--pgdata", str(data), "--log", str(log), "-o", options, "start"],
        "pg_ctl start",
    )
    record(stack, "postgres", int((data / "postmaster.pid").read_text().split()[0]))
    ready = [postgres_bin("pg_isready"), "--host", HOST, "--port", str(port), "--quiet"]
    wait_until(
        lambda: subprocess.run(ready).returncode == 0, "PostgreSQL", log, started(stack, "postgres")
    )


def create_databases(stack: Stack) -> None:
    """The MLflow role and its two databases (tracking + users), if not there yet."""
    port = stack.state()["ports"]["postgres"]
    connection = psycopg2.connect(
        host=HOST, port=port, user="postgres", password=stack.secret("postgres"), dbname="postgres"
    )
    connection.autocommit = True  # CREATE DATABASE cannot run in a transaction
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (DB_USER,))
            if cursor.fetchone() is None:
                cursor.execute(
                    sql.SQL("CREATE ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(DB_USER)),
                    (stack.secret("database"),),
                )
            for name in (DATABASE, AUTH_DATABASE):
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if cursor.fetchone() is None:
                    cursor.execute(
                        sql.SQL("CREATE DATABASE {} OWNER {}").format(
                            sql.Identifier(name), sql.Identifier(DB_USER)
                        )
                    )
    finally:
        connection.close()


def database_uri(stack: Stack, name: str) -> str:
    """Without the password: the server gets it from PGPASSWORD, so it is not in `ps` output."""
    return f"postgresql+psycopg2://{DB_USER}@{HOST}:{stack.state()['ports']['postgres']}/{name}"

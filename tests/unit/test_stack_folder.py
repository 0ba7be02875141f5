"""The stack folder: passwords generated once, private, or taken from the environment."""

from __future__ import annotations

import os

from toxic_mlops.stack import Stack, exports
from toxic_mlops.stack.processes import SECRET_NAMES, is_running, make_secrets


def test_secrets_are_private_stable_and_overridable(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TOXIC_STACK_ADMIN", "from-the-environment")
    stack = Stack(tmp_path)
    make_secrets(stack)
    first = {name: stack.secret(name) for name in SECRET_NAMES}
    assert first["admin"] == "from-the-environment"
    assert len(set(first.values())) == len(SECRET_NAMES)  # each one its own
    assert (tmp_path / "secrets").stat().st_mode & 0o777 == 0o700
    assert all((tmp_path / "secrets" / n).stat().st_mode & 0o777 == 0o600 for n in SECRET_NAMES)
    monkeypatch.setenv("TOXIC_STACK_PIPELINE", "too-late")
    make_secrets(stack)
    assert {name: stack.secret(name) for name in SECRET_NAMES} == first


def test_exports_name_the_password_files_not_the_passwords(tmp_path) -> None:
    stack = Stack(tmp_path)
    make_secrets(stack)
    stack.save({"ports": {"mlflow": 5555, "weed": {"s3.port": 8333}}, "pids": {}})
    lines = exports(stack, "reader")
    assert 'export MLFLOW_TRACKING_URI="http://127.0.0.1:5555"' in lines
    assert 'export MLFLOW_TRACKING_USERNAME="reader"' in lines
    assert f"$(cat {tmp_path}/secrets/reader)" in lines
    assert stack.secret("reader") not in lines


def test_a_pid_counts_as_ours_only_while_it_runs_our_program() -> None:
    assert is_running(os.getpid(), "python")
    assert not is_running(os.getpid(), "postgres")
    assert not is_running(None, "python")

"""One promotion at a time per model, on any tracking store, local or over HTTP.

Two `register` runs at once would both read the same Production version, both pass the gate
against it and both promote: stage and alias could then end on different versions, or two
versions in stage Production. The lock is a registered model named `<model>.promotion-lock`:
creating a registered model is atomic on every MLflow store (a unique name in the database), so
whoever creates it holds the lock, and deleting it releases it. A lock left by a killed process
is taken over once it is older than `stale_after` seconds (its creation time is the server's).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    RESOURCE_ALREADY_EXISTS,
    RESOURCE_DOES_NOT_EXIST,
    ErrorCode,
)
from mlflow.tracking import MlflowClient

from toxic_mlops.errors import PipelineError

LOCK_SUFFIX = ".promotion-lock"


class PromotionBusy(PipelineError):
    """Another promotion of the same model held the lock for longer than we waited."""


def _taken(error: MlflowException) -> bool:
    """The lock's name was taken. MLflow's SQL store answers a losing insert by looking the
    existing row up, and says "not found" when its holder released it in between: taken too."""
    codes = (RESOURCE_ALREADY_EXISTS, RESOURCE_DOES_NOT_EXIST)
    return error.error_code in {ErrorCode.Name(code) for code in codes}


def _take_over_if_stale(client: MlflowClient, lock: str, stale_after: float) -> None:
    try:
        held_since = client.get_registered_model(lock).creation_timestamp / 1000
    except MlflowException:
        return  # released meanwhile
    if time.time() - held_since > stale_after:
        try:
            client.delete_registered_model(lock)
        except MlflowException:
            pass  # someone else took it over first


@contextmanager
def promotion_lock(
    client: MlflowClient,
    model_name: str,
    wait_seconds: float = 600,
    stale_after: float = 900,
    poll_seconds: float = 0.5,
) -> Iterator[None]:
    """Hold `<model_name>.promotion-lock` while the block runs; wait for it if it is taken."""
    lock = model_name + LOCK_SUFFIX
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            client.create_registered_model(
                lock, description=f"held while a version of {model_name} is being promoted"
            )
            break
        except MlflowException as error:
            if not _taken(error):
                raise
        if time.monotonic() > deadline:
            raise PromotionBusy(
                f"another promotion of {model_name} held {lock!r} for over {wait_seconds:.0f} s; "
                f"if no register run is going on, delete that registered model and retry"
            )
        _take_over_if_stale(client, lock, stale_after)
        time.sleep(poll_seconds)
    try:
        yield
    finally:
        client.delete_registered_model(lock)

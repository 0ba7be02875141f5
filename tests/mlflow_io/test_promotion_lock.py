"""The promotion lock on a real (sqlite) MLflow registry: one holder at a time, stale locks."""

from __future__ import annotations

import threading
import time

import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from toxic_mlops.mlflow_io.promotion_lock import LOCK_SUFFIX, PromotionBusy, promotion_lock


def test_holders_never_overlap_and_the_lock_is_released(tracking: str) -> None:
    spans: list[tuple[float, float]] = []

    def promote() -> None:
        with promotion_lock(MlflowClient(tracking), "toxic", poll_seconds=0.05):
            start = time.monotonic()
            time.sleep(0.3)
            spans.append((start, time.monotonic()))

    threads = [threading.Thread(target=promote) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    spans.sort()
    assert len(spans) == 3
    assert all(earlier[1] <= later[0] for earlier, later in zip(spans, spans[1:], strict=False))
    with pytest.raises(MlflowException):
        MlflowClient(tracking).get_registered_model("toxic" + LOCK_SUFFIX)


def test_a_held_lock_times_out_and_a_stale_one_is_taken_over(tracking: str) -> None:
    client = MlflowClient(tracking)
    client.create_registered_model("toxic" + LOCK_SUFFIX)  # left by a killed register run
    with pytest.raises(PromotionBusy, match="delete that registered model"):
        with promotion_lock(client, "toxic", wait_seconds=0.3, poll_seconds=0.05):
            pass
    with promotion_lock(client, "toxic", stale_after=0.0, poll_seconds=0.05):
        assert client.get_registered_model("toxic" + LOCK_SUFFIX)


def test_the_lock_is_released_when_the_promotion_fails(tracking: str) -> None:
    client = MlflowClient(tracking)
    with pytest.raises(RuntimeError), promotion_lock(client, "toxic"):
        raise RuntimeError("the registry went away")
    with promotion_lock(client, "toxic", wait_seconds=0.1):
        pass

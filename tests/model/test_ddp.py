"""DDP for real, without Spark: two gloo processes on 127.0.0.1 train what one process trains.

`fit` runs as the train step calls it, with Spark's TorchDistributor replaced by two spawned
processes that run the same `ddp_worker` (tests/e2e/test_distributed.py runs it through Spark).
Without dropout both take the same optimiser steps on the same batches, so their epochs agree
to float rounding; with dropout the same seeds give the same model twice.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from tests.conftest import synthetic_training_inputs, tiny_config
from toxic_mlops.config import TRAIN_SECTIONS, DistributedConfig, build_config
from toxic_mlops.model import training
from toxic_mlops.model.distributed import DistributedJob, DistributedOutcome, ddp_worker
from toxic_mlops.model.epochs import EpochResult
from toxic_mlops.model.training import Fitted, fit
from toxic_mlops.serving.model_server import free_port

PROCESSES = 2


def _process(rank: int, port: int, job: DistributedJob, answer: str) -> None:
    """One process as torchrun starts it for TorchDistributor (one per Spark task)."""
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(PROCESSES),
        LOCAL_RANK="0",
    )
    outcome = ddp_worker(job)
    assert (outcome is None) == (rank != 0), "only the first process answers"
    if rank == 0:
        Path(answer).write_bytes(pickle.dumps(outcome))


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """train_distributed as two local processes instead of Spark tasks."""

    def launch(job: DistributedJob, settings: DistributedConfig) -> DistributedOutcome:
        job = replace(job, backend=settings.backend, threads=1)
        answer = tmp_path / "outcome.pickle"
        torch.multiprocessing.spawn(
            _process, args=(free_port(), job, str(answer)), nprocs=PROCESSES, join=True
        )
        outcome = pickle.loads(answer.read_bytes())
        return replace(outcome, summary=replace(outcome.summary, master="spawned"))

    monkeypatch.setattr(training, "train_distributed", launch)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory):
    return synthetic_training_inputs(tmp_path_factory.mktemp("ddp"))


def untimed(history: list[EpochResult]) -> list[EpochResult]:
    return [replace(epoch, seconds=0.0) for epoch in history]


def _fit(inputs, **overrides: str) -> Fitted:
    settings = {"epochs": "2", "num_threads": "1", **overrides}
    return fit(build_config(tiny_config(), settings, TRAIN_SECTIONS), *inputs)


def test_two_processes_train_what_one_trains(spawned, inputs) -> None:
    alone = _fit(inputs, spatial_dropout="0")
    shared = _fit(inputs, spatial_dropout="0", processes=str(PROCESSES))
    one, two = alone.result.history, shared.result.history
    assert [e.epoch for e in two] == [0, 1, 2]
    assert untimed(two[:1]) == untimed(one[:1])  # epoch 0: the driver's fit of the wide path
    for a, b in zip(one[1:], two[1:], strict=True):
        assert b.train_loss == pytest.approx(a.train_loss, rel=1e-4)
        assert b.val_loss == pytest.approx(a.val_loss, rel=1e-4)
        assert b.val_macro_roc_auc == pytest.approx(a.val_macro_roc_auc, abs=1e-3)
    assert shared.result.best_epoch == alone.result.best_epoch
    mine, theirs = alone.result.network.state_dict(), shared.result.network.state_dict()
    for name, weights in mine.items():
        torch.testing.assert_close(theirs[name], weights, rtol=1e-3, atol=1e-4, msg=name)

    summary = shared.result.distributed
    assert (summary.master, summary.backend, summary.device, summary.precision) == (
        "spawned",
        "gloo",
        "cpu",
        "fp32",
    )
    rows = len(shared.encoded["train"])
    assert sum(s.rows for s in summary.processes) == 2 * rows  # 2 epochs, each row once each
    assert [s.rank for s in summary.processes] == [0, 1]
    for stats in summary.processes:
        assert stats.allreduce_calls >= stats.steps > 0 and stats.allreduce_bytes > 0
        assert 0 < stats.communication_share < 1
    assert (shared.result.device, shared.result.precision) == ("cpu", "fp32")


def test_the_same_seeds_give_the_same_model_twice(spawned, inputs) -> None:
    first, second = (_fit(inputs, epochs="1", processes=str(PROCESSES)) for _ in range(2))
    assert untimed(first.result.history) == untimed(second.result.history)
    for name, weights in first.result.network.state_dict().items():
        assert torch.equal(second.result.network.state_dict()[name], weights), name

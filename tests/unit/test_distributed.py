"""The pieces of distributed training that need no second process: sharding, packing, settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from toxic_mlops.config import DistributedConfig
from toxic_mlops.model.batches import EncodedSplit, masked_bce
from toxic_mlops.model.distributed import (
    CODE_ZIP,
    PROJECT,
    DistributedSummary,
    ProcessStats,
    _session_settings,
    _zip_code,
    resolved_master,
)
from toxic_mlops.model.epochs import Shard


@pytest.mark.parametrize("rows", [1, 2, 3, 7, 128])
@pytest.mark.parametrize("world", [1, 2, 3])
def test_the_processes_split_every_batch_between_them(rows: int, world: int) -> None:
    batch = np.arange(100, 100 + rows)
    parts = [Shard(rank, world).rows(batch) for rank in range(world)]
    weighted = [rows_ for rows_, weight in parts if weight == 1.0]
    assert np.array_equal(np.concatenate(weighted), batch)  # each row once, in order
    for rows_, weight in parts:  # a process left without rows still runs a step, at weight 0
        assert len(rows_) >= 1 and (weight == 1.0 or np.array_equal(rows_, batch[:1]))


def test_a_shard_counts_its_rows_and_steps() -> None:
    shard = Shard(1, 2)
    for size in (5, 4, 1):
        shard.rows(np.arange(size))
    assert (shard.rows_trained, shard.steps) == (2 + 2 + 0, 3)
    assert Shard().total(2.5) == 2.5  # one process: nothing to add up


def test_the_parts_losses_add_up_to_the_batch_mean() -> None:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(7, 3, generator=generator)
    targets = torch.rand(7, 3, generator=generator)
    targets[1, 2] = targets[4, 0] = float("nan")  # unknown labels count in neither
    known = int((~torch.isnan(targets)).sum())
    parts = [
        masked_bce(logits[rows], targets[rows], known) for rows in np.array_split(np.arange(7), 3)
    ]
    torch.testing.assert_close(sum(parts), masked_bce(logits, targets))


def test_an_encoded_split_is_flat_arrays_that_give_back_each_sequence() -> None:
    sequences = [[5, 6, 7], [1], [9, 9]]
    split = EncodedSplit.of(sequences, np.array([[1.0], [0.0], [np.nan]]))
    assert [row.tolist() for row in split.rows([2, 0, 1])] == [[9, 9], [5, 6, 7], [1]]
    assert split.lengths.tolist() == [3, 1, 2] and len(split) == 3
    assert split.tokens.dtype == np.int32 and split.targets.dtype == np.float32
    assert len(EncodedSplit.of([], np.zeros((0, 1)))) == 0


def test_the_master_comes_from_the_config_then_spark_master_then_local(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SPARK_MASTER", raising=False)
    assert resolved_master(DistributedConfig(processes=3)) == "local[3]"
    monkeypatch.setenv("SPARK_MASTER", "spark://10.0.0.1:7077")
    assert resolved_master(DistributedConfig(processes=3)) == "spark://10.0.0.1:7077"
    assert resolved_master(DistributedConfig(2, master="yarn")) == "yarn"


def test_executors_find_the_project_shipped_or_in_place() -> None:
    shipped = _session_settings(DistributedConfig(2))
    assert shipped["spark.executorEnv.PYTHONPATH"].split(":") == [CODE_ZIP, str(PROJECT)]
    assert shipped["spark.task.maxFailures"] == "1"
    own = _session_settings(
        DistributedConfig(2, ship_code=False, spark_conf={"spark.task.maxFailures": "4"})
    )
    assert own["spark.executorEnv.PYTHONPATH"] == str(PROJECT)
    assert own["spark.task.maxFailures"] == "4"  # spark_conf has the last word


def test_the_shipped_zip_is_enough_to_import_the_worker(tmp_path: Path) -> None:
    archive = _zip_code(tmp_path)
    code = "import toxic_mlops.model.distributed as d, pyfunc.network; print(d.__file__)"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,  # not the project folder: only the zip is on the path
        env={"PYTHONPATH": str(archive), "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip().startswith(str(archive))


def test_the_summary_reports_per_process_throughput_and_communication_share() -> None:
    stats = [
        ProcessStats(0, rows=1000, steps=10, train_seconds=10.0, allreduce_seconds=1.0,
                     allreduce_calls=10, allreduce_bytes=10 * 2**20),
        ProcessStats(1, rows=1000, steps=10, train_seconds=8.0, allreduce_seconds=2.0,
                     allreduce_calls=10, allreduce_bytes=10 * 2**20),
    ]  # fmt: skip
    summary = DistributedSummary("spark://127.0.0.1:7077", stats, "cpu", "fp32", "gloo")
    metrics = summary.metrics()
    assert metrics["ddp_rows_per_s_per_process"] == pytest.approx((100 + 125) / 2)
    assert metrics["ddp_communication_share"] == pytest.approx((0.1 + 0.25) / 2)
    assert metrics["ddp_allreduce_mb_per_step"] == pytest.approx(1.0)
    assert metrics["ddp_train_seconds"] == 10.0 and metrics["ddp_processes"] == 2
    assert "2 DDP processes on spark://127.0.0.1:7077 (gloo, cpu fp32)" in summary.sentence()
    assert summary.to_dict()["processes"][1]["communication_share"] == pytest.approx(0.25)

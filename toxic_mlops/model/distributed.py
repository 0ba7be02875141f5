"""The deep epochs in N PyTorch DDP processes, started by Spark's TorchDistributor.

The train step's process (Spark's driver) fits the wide path and scores epoch 0 as always, then
hands a `DistributedJob` (the network's weights, the encoded splits as numpy arrays, the wide
path's out-of-fold offsets, the settings) to `TorchDistributor(num_processes=N,
local_mode=False)`: N barrier tasks on `distributed.master`'s executors, each running torchrun
with one process that calls `ddp_worker`. Each process trains the same network (DDP: gloo on the
CPU, NCCL on CUDA) on its slice of every batch (epochs.Shard); the first one also scores
validation after each epoch and keeps the best epoch's weights. Only it returns anything: its
history, those weights and every process's timings, which the driver adopts as if it had
trained them itself (it alone logs to MLflow). docs/distributed.md: how to run it on a cluster.
"""

from __future__ import annotations

import faulthandler
import ipaddress
import os
import socket
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from tokenizers import Tokenizer

from pyfunc.encoding import TextEncoder
from pyfunc.network import ToxicityNet
from pyfunc.network_config import NetworkConfig
from pyfunc.text import Normalizer
from toxic_mlops.config import DistributedConfig, TrainingConfig
from toxic_mlops.errors import PipelineError
from toxic_mlops.model.batches import EncodedSplit
from toxic_mlops.model.device import local_rank, resolve_device, resolve_precision
from toxic_mlops.model.epochs import (
    DeepEpochs,
    EpochResult,
    Shard,
    TrainingStep,
    TrainResult,
    Validation,
    seed_everything,
)
from toxic_mlops.spark import spark_session

# What executors import: the project's packages, zipped and shipped with the job.
PROJECT = Path(__file__).resolve().parents[2]
SHIPPED_PACKAGES = ("toxic_mlops", "pyfunc")
CODE_ZIP = "toxic_mlops_code.zip"
# A DDP process waits this long for the others at a collective before it fails.
COLLECTIVE_TIMEOUT = timedelta(minutes=30)


class DistributedError(PipelineError):
    """Distributed training could not start or failed; the message holds the processes' output."""


@dataclass(frozen=True)
class DistributedJob:
    """Everything a DDP process needs, picklable, nothing of MLflow."""

    network_config: NetworkConfig
    state: dict[str, np.ndarray]  # the network after the wide path's fit
    frozen: tuple[str, ...]  # parameters that stay as they are (a fitted wide path, ...)
    tokenizer: str  # tokenizer JSON: the processes pad, never encode
    normalizer: Normalizer
    max_len: int
    train: EncodedSplit  # flat arrays: cheap to pickle
    val: EncodedSplit
    labels: list[str]
    settings: TrainingConfig
    positive_threshold: float
    offsets: np.ndarray | None  # the wide path's out-of-fold logits of the training rows
    history: tuple[EpochResult, ...] = ()  # epoch 0 when the wide path was fitted
    backend: str = "auto"
    time_communication: bool = True
    threads: int = 1  # torch threads per process when training.num_threads is 0

    @classmethod
    def of(
        cls,
        network: ToxicityNet,
        train_split: EncodedSplit,
        validation: Validation,
        settings: TrainingConfig,
        offsets: np.ndarray | None,
        history: tuple[EpochResult, ...],
    ) -> DistributedJob:
        """The deep epochs of `train` as a job; the encoder is the validation's."""
        encoder = validation.encoder
        return cls(
            network.config,
            {k: v.detach().cpu().numpy() for k, v in network.state_dict().items()},
            tuple(n for n, p in network.named_parameters() if not p.requires_grad),
            encoder.tokenizer.to_str(),
            encoder.normalizer,
            encoder.max_len,
            train_split,
            validation.split,
            validation.labels,
            settings,
            validation.positive_threshold,
            offsets,
            history,
        )

    def network(self) -> ToxicityNet:
        network = ToxicityNet(self.network_config)
        network.load_state_dict({k: torch.from_numpy(v) for k, v in self.state.items()})
        for name, parameter in network.named_parameters():
            parameter.requires_grad_(name not in self.frozen)
        return network

    def encoder(self) -> TextEncoder:
        return TextEncoder(Tokenizer.from_str(self.tokenizer), self.normalizer, self.max_len)

    def validation(self, encoder: TextEncoder) -> Validation:
        batch_size = self.settings.batch_size
        return Validation(encoder, self.val, self.labels, batch_size, self.positive_threshold)


@dataclass(frozen=True)
class ProcessStats:
    """What one DDP process did: rows it computed gradients on, seconds, gradient traffic."""

    rank: int
    rows: int
    steps: int
    train_seconds: float  # the training passes, validation excluded
    allreduce_seconds: float  # inside the gradient all-reduces (waiting for the others too)
    allreduce_calls: int
    allreduce_bytes: int

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.train_seconds if self.train_seconds else 0.0

    @property
    def communication_share(self) -> float:
        return self.allreduce_seconds / self.train_seconds if self.train_seconds else 0.0


@dataclass(frozen=True)
class DistributedSummary:
    """How a DDP run went: where, on what, and each process's figures."""

    master: str
    processes: list[ProcessStats]
    device: str
    precision: str
    backend: str

    def metrics(self) -> dict[str, float]:
        stats = self.processes
        steps = max(s.steps for s in stats)
        return {
            "ddp_processes": len(stats),
            "ddp_rows_per_s_per_process": float(np.mean([s.rows_per_second for s in stats])),
            "ddp_communication_share": float(np.mean([s.communication_share for s in stats])),
            "ddp_allreduce_mb_per_step": stats[0].allreduce_bytes / max(steps, 1) / 2**20,
            "ddp_train_seconds": max(s.train_seconds for s in stats),
        }

    def sentence(self) -> str:
        figures = self.metrics()
        return (
            f"{len(self.processes)} DDP processes on {self.master} ({self.backend}, "
            f"{self.device} {self.precision}): {figures['ddp_rows_per_s_per_process']:,.0f} rows/s "
            f"per process, {figures['ddp_communication_share']:.0%} of the training time in "
            f"gradient all-reduces ({figures['ddp_allreduce_mb_per_step']:.2f} MB a step)"
        )

    def to_dict(self) -> dict[str, Any]:
        per_process = [
            {
                **asdict(s),
                "rows_per_second": s.rows_per_second,
                "communication_share": s.communication_share,
            }
            for s in self.processes
        ]
        return {**asdict(self), "processes": per_process, **self.metrics()}


@dataclass(frozen=True)
class DistributedOutcome:
    """The first process's answer: the deep epochs and the best one's trained weights."""

    history: list[EpochResult]  # epochs 1..N
    best_epoch: int
    trained: dict[str, np.ndarray] | None  # None: no deep epoch beat epoch 0
    summary: DistributedSummary

    def adopt_into(
        self, result: TrainResult, on_epoch: Callable[[EpochResult], None] | None
    ) -> None:
        """result (holding epoch 0, if any) as if its network had trained the deep epochs."""
        for epoch in self.history:
            result.history.append(epoch)
            if on_epoch:
                on_epoch(epoch)
        if self.trained is not None:
            trained = {k: torch.from_numpy(v) for k, v in self.trained.items()}
            result.network.load_state_dict(trained, strict=False)
            result.best_epoch = self.best_epoch
            result.best_state = {k: v.clone() for k, v in result.network.state_dict().items()}
        result.device, result.precision = self.summary.device, self.summary.precision
        result.distributed = self.summary


@dataclass
class _Traffic:
    """A DDP communication hook's state: the all-reduces it ran and their seconds."""

    world: int
    seconds: float = 0.0
    calls: int = 0
    bytes: int = 0

    def stats(self, rank: int, shard: Shard, train_seconds: float) -> ProcessStats:
        """This process's figures, with the shard's rows and steps."""
        rows, steps = shard.rows_trained, shard.steps
        return ProcessStats(rank, rows, steps, train_seconds, self.seconds, self.calls, self.bytes)


def _timed_allreduce(traffic: _Traffic, bucket):
    """DDP's default all-reduce (mean of a gradient bucket), run synchronously and timed.

    bucket: a dist.GradBucket; returns a completed torch.futures.Future[torch.Tensor]. Not
    annotated: DDP checks a hook's annotations, which `from __future__ import annotations` makes
    strings."""
    started = time.perf_counter()
    tensor = bucket.buffer().div_(traffic.world)
    dist.all_reduce(tensor)
    if tensor.is_cuda:
        torch.cuda.synchronize(tensor.device)
    traffic.seconds += time.perf_counter() - started
    traffic.calls += 1
    traffic.bytes += tensor.numel() * tensor.element_size()
    done: torch.futures.Future = torch.futures.Future()
    done.set_result(tensor)
    return done


def _keep_gloo_on_loopback() -> None:
    """With every process on this machine (MASTER_ADDR loopback), gloo listens on loopback too."""
    address = os.environ.get("MASTER_ADDR", "")
    try:
        loopback = address == "localhost" or ipaddress.ip_address(address).is_loopback
    except ValueError:
        return
    names = [name for _, name in socket.if_nameindex() if name.startswith("lo")]
    if loopback and names:
        os.environ.setdefault("GLOO_SOCKET_IFNAME", names[0])


def _say(epoch: EpochResult) -> None:
    print(
        f"DDP process 0, epoch {epoch.epoch}: train loss {epoch.train_loss:.4f}, "
        f"val macro ROC-AUC {epoch.val_macro_roc_auc:.4f} ({epoch.seconds:.0f}s)",
        flush=True,
    )


def _join(job: DistributedJob) -> tuple[torch.device, str]:
    """This process's device and DDP backend, once it has joined the process group."""
    device = resolve_device(job.settings.device, local_rank())
    backend = job.backend if job.backend != "auto" else "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if backend == "gloo":
        _keep_gloo_on_loopback()
    dist.init_process_group(backend, timeout=COLLECTIVE_TIMEOUT)
    return device, backend


def _ddp_step(network: ToxicityNet, device: torch.device, traffic: _Traffic | None) -> Any:
    """The network's TrainingStep wrapped in DDP; its all-reduces timed into traffic, if any."""
    step = torch.nn.parallel.DistributedDataParallel(
        TrainingStep(network),
        device_ids=[device.index] if device.type == "cuda" else None,
        # The span tagger's head gets no gradient from the label loss.
        find_unused_parameters=network.span_tagger is not None,
    )
    if traffic is not None:
        step.register_comm_hook(traffic, _timed_allreduce)
    return step


def _outcome(
    job: DistributedJob, result: TrainResult, stats: list[ProcessStats], summary: DistributedSummary
) -> DistributedOutcome:
    """The first process's answer: the deep epochs and the best one's trainable weights."""
    trained = None
    if result.best_state is not None:
        names = {n for n, p in result.network.named_parameters() if p.requires_grad}
        trained = {n: v.cpu().numpy() for n, v in result.best_state.items() if n in names}
    deep = result.history[len(job.history) :]
    return DistributedOutcome(deep, result.best_epoch, trained, replace(summary, processes=stats))


def _train(job: DistributedJob, device: torch.device, backend: str) -> DistributedOutcome | None:
    """This process's share of the deep epochs; the outcome in the first process only."""
    settings = job.settings
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.set_num_threads(settings.num_threads if settings.num_threads > 0 else job.threads)
    network = job.network().to(device)
    precision = resolve_precision(settings.precision, device)
    traffic = _Traffic(world)
    step = _ddp_step(network, device, traffic if job.time_communication else None)
    seed_everything(settings.seed + rank)  # dropout differs by process, reproducibly
    shard, encoder = Shard(rank, world), job.encoder()
    # Only the first process scores and keeps epochs.
    validation = job.validation(encoder) if rank == 0 else None
    result = TrainResult(network, best_epoch=0, history=list(job.history))
    epochs = DeepEpochs(step, network, encoder, job.train, settings, precision, shard, job.offsets)
    seconds = sum(epochs.run(validation, result, _say))
    mine = traffic.stats(rank, shard, seconds)
    everyone: list[Any] = [None] * world
    dist.all_gather_object(everyone, mine)
    if rank != 0:
        return None
    summary = DistributedSummary("", [], str(device), precision.name, backend)
    return _outcome(job, result, everyone, summary)


def ddp_worker(job: DistributedJob) -> DistributedOutcome | None:
    """One DDP process (torchrun's env: RANK, WORLD_SIZE, MASTER_ADDR...); rank 0 answers."""
    # A process that gloo's C++ aborts (SIGABRT) says where its Python was, not just its signal.
    faulthandler.enable()
    device, backend = _join(job)
    try:
        outcome = _train(job, device, backend)
        # Leave together: a peer that tears gloo down while the other still talks to it can
        # abort that one (SIGABRT seen once in a loaded test run).
        dist.barrier()
        return outcome
    finally:
        dist.destroy_process_group()


def resolved_master(settings: DistributedConfig) -> str:
    """distributed.master, else SPARK_MASTER, else a local Spark with one core per process."""
    return settings.master or os.environ.get("SPARK_MASTER") or f"local[{settings.processes}]"


def _zip_code(folder: Path) -> Path:
    """toxic_mlops/ and pyfunc/ (their .py files) as one zip, importable from sys.path."""
    path = folder / CODE_ZIP
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for package in SHIPPED_PACKAGES:
            for source in sorted((PROJECT / package).rglob("*.py")):
                archive.write(source, source.relative_to(PROJECT).as_posix())
    return path


def _session_settings(settings: DistributedConfig) -> dict[str, str]:
    """The executors' Python finds the project: the shipped zip (in an executor's working
    folder, where Spark puts added files) or this folder (local masters, shared file systems).
    A failed training process fails the job at once: its retry would fail the same way."""
    path = [CODE_ZIP, str(PROJECT)] if settings.ship_code else [str(PROJECT)]
    return {
        "spark.executorEnv.PYTHONPATH": os.pathsep.join(path),
        "spark.task.maxFailures": "1",
        "spark.stage.maxConsecutiveAttempts": "1",
        **settings.spark_conf,
    }


def _uses_gpu(device: str, spark: Any) -> bool:
    """Whether TorchDistributor hands GPUs to its tasks: training.device cuda, or auto where
    Spark schedules GPUs to tasks (spark.task.resource.gpu.amount >= 1)."""
    if device != "auto":
        return device.startswith("cuda")
    return float(spark.conf.get("spark.task.resource.gpu.amount", "0")) >= 1


def train_distributed(job: DistributedJob, settings: DistributedConfig) -> DistributedOutcome:
    """The job's deep epochs in distributed.processes DDP processes on a Spark master."""
    from pyspark.ml.torch.distributor import TorchDistributor

    master = resolved_master(settings)
    spark = spark_session(
        master, "toxic-mlops train (DDP)", settings.driver_host, False, _session_settings(settings)
    )
    try:
        with tempfile.TemporaryDirectory() as folder:
            if settings.ship_code:
                spark.sparkContext.addPyFile(str(_zip_code(Path(folder))))
            threads = int(spark.conf.get("spark.task.cpus", "1"))
            job = replace(
                job,
                backend=settings.backend,
                time_communication=settings.time_communication,
                threads=threads,
            )
            distributor = TorchDistributor(
                num_processes=settings.processes,
                local_mode=False,
                use_gpu=_uses_gpu(job.settings.device, spark),
            )
            try:
                outcome = distributor.run(ddp_worker, job)
            except Exception as error:  # Spark's and torchrun's errors, with the processes' output
                raise DistributedError(
                    f"distributed training on {master} failed: {str(error)[-3000:]}"
                ) from error
    finally:
        spark.stop()
    if outcome is None:
        raise DistributedError(f"distributed training on {master} returned nothing")
    return replace(outcome, summary=replace(outcome.summary, master=master))

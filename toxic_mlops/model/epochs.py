"""The deep network's epochs: one loop for one process and for each process of a DDP run.

A batch is cut as in one process (length buckets, the same seed); with W processes (`Shard`)
each takes one of W contiguous slices of it and scales its loss so that the slices' gradients,
averaged by DDP, are the whole batch's. W processes thus take the same optimiser steps on the
same batches as one process: only dropout masks and the order of float sums differ.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from pyfunc.encoding import TextEncoder
from pyfunc.network import ToxicityNet
from toxic_mlops.config import TrainingConfig
from toxic_mlops.evaluation.metrics import macro, roc_auc_per_label
from toxic_mlops.model.batches import (
    EncodedSplit,
    batch_tensors,
    length_batches,
    masked_bce,
    predict_split,
)
from toxic_mlops.model.device import Precision

if TYPE_CHECKING:
    from toxic_mlops.model.distributed import DistributedSummary


@dataclass(frozen=True)
class EpochResult:
    epoch: int
    train_loss: float
    val_loss: float
    val_roc_auc: dict[str, float]
    val_macro_roc_auc: float
    learning_rate: float
    seconds: float

    @property
    def selection_score(self) -> float:
        """Validation macro AUC; with no scoreable label (tiny data), minus the validation loss."""
        return self.val_macro_roc_auc if not np.isnan(self.val_macro_roc_auc) else -self.val_loss


@dataclass
class TrainResult:
    network: ToxicityNet  # holds the weights of the best epoch
    best_epoch: int  # 0: the fitted wide path alone (the deep network never helped on validation)
    history: list[EpochResult] = field(default_factory=list)
    best_state: dict[str, torch.Tensor] | None = field(default=None, repr=False)
    nb_scaled_labels: list[str] = field(default_factory=list)  # wide path fitted NB-scaled
    wide_solver: str = ""  # the solver that fitted it ("": not fitted first)
    device: str = "cpu"  # where the deep epochs ran, and in which arithmetic
    precision: str = "fp32"
    distributed: DistributedSummary | None = None  # how the DDP processes went, if any

    @property
    def best(self) -> EpochResult:
        return next(r for r in self.history if r.epoch == self.best_epoch)

    def record(self, epoch: EpochResult) -> None:
        """Adds an epoch; keeps a copy of the network's weights when it is the best so far."""
        best_score = self.best.selection_score if self.history else -np.inf
        self.history.append(epoch)
        if epoch.selection_score > best_score:
            self.best_epoch = epoch.epoch
            self.best_state = copy.deepcopy(self.network.state_dict())


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class TrainingStep(torch.nn.Module):
    """The logits a training step learns from: the network's, or with the wide path's
    out-of-fold offsets (wide.WideFit) the deep path's plus those. A module, so that DDP can
    wrap it: DDP synchronises the gradients of what its wrapped forward ran."""

    def __init__(self, network: ToxicityNet) -> None:
        super().__init__()
        self.network = network

    def forward(
        self, token_ids: torch.Tensor, lengths: torch.Tensor, offset: torch.Tensor | None = None
    ) -> torch.Tensor:
        if offset is None:
            return self.network(token_ids, lengths)
        return self.network.deep_logits(token_ids, lengths) + offset


class Shard:
    """Process `rank` of `world`'s part of every batch, and the sums across the processes."""

    def __init__(self, rank: int = 0, world: int = 1) -> None:
        self.rank, self.world = rank, world
        self.rows_trained = 0  # rows this process has computed gradients on
        self.steps = 0

    def rows(self, batch: np.ndarray) -> tuple[np.ndarray, float]:
        """(rows, weight): this process's contiguous slice of the batch. A batch smaller than
        the world leaves some processes none: they take its first row at weight 0, since every
        process must join every gradient all-reduce."""
        if self.world == 1:
            part = batch
        else:
            part = np.array_split(batch, self.world)[self.rank]
        self.rows_trained += len(part)
        self.steps += 1
        return (part, 1.0) if len(part) else (batch[:1], 0.0)

    def total(self, value: float) -> float:
        """value summed over the processes."""
        if self.world == 1:
            return value
        summed = torch.tensor([value], dtype=torch.float64)
        dist.all_reduce(summed)
        return float(summed)


def optimizer_for(
    network: ToxicityNet, settings: TrainingConfig
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """Adam (the wide path, when trained jointly, at its own rate), lr x lr_decay per epoch."""
    wide_weights = [network.ngrams.weight] if network.ngrams is not None else []
    groups = [
        {"params": [p for p in network.parameters() if all(p is not w for w in wide_weights)]}
    ]
    if wide_weights and wide_weights[0].requires_grad:  # not frozen by a fitted wide path
        groups.append({"params": wide_weights, "lr": settings.ngram_learning_rate})
    optimizer = torch.optim.Adam(groups, lr=settings.learning_rate)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda e: settings.lr_decay**e)
    return optimizer, scheduler


@dataclass(frozen=True)
class Validation:
    """Scores the network on the validation split at the end of an epoch."""

    encoder: TextEncoder
    split: EncodedSplit
    labels: list[str]
    batch_size: int
    positive_threshold: float

    def epoch_result(
        self, network: ToxicityNet, epoch: int, train_loss: float, started: float, rate: float
    ) -> EpochResult:
        device = next(network.parameters()).device
        loss, probabilities = predict_split(
            network, self.encoder, self.split, self.batch_size, device
        )
        aucs = roc_auc_per_label(
            self.split.targets, probabilities, self.labels, self.positive_threshold
        )
        return EpochResult(
            epoch, train_loss, loss, aucs, macro(aucs), rate, time.perf_counter() - started
        )


def keep(
    result: TrainResult, epoch: EpochResult, on_epoch: Callable[[EpochResult], None] | None
) -> None:
    result.record(epoch)
    if on_epoch:
        on_epoch(epoch)


@dataclass(frozen=True)
class DeepEpochs:
    """The deep network's epochs: in one process, or in each process of a DDP run."""

    step: torch.nn.Module  # a TrainingStep of network, DDP-wrapped in a DDP run
    network: ToxicityNet
    encoder: TextEncoder
    split: EncodedSplit
    settings: TrainingConfig
    precision: Precision
    shard: Shard = field(default_factory=Shard)
    offsets: np.ndarray | None = None  # [rows, labels]: the wide path's out-of-fold logits

    def run(
        self,
        validation: Validation | None,
        result: TrainResult,
        on_epoch: Callable[[EpochResult], None] | None = None,
    ) -> list[float]:
        """training.epochs passes, lr x lr_decay after each; the seconds of each pass.

        validation: None in the DDP processes but the first, which alone scores and keeps epochs.
        """
        settings = self.settings
        optimizer, scheduler = optimizer_for(self.network, settings)
        scaler = self.precision.scaler()
        rng = np.random.default_rng(settings.seed)
        lengths = self.split.lengths
        seconds = []
        for epoch in range(1, settings.epochs + 1):
            started, rate = time.perf_counter(), optimizer.param_groups[0]["lr"]
            batches = length_batches(lengths, settings.batch_size, rng)
            loss = self._pass(optimizer, scaler, batches, f"epoch {epoch}/{settings.epochs}")
            seconds.append(time.perf_counter() - started)
            scheduler.step()
            if validation is not None:
                result_epoch = validation.epoch_result(self.network, epoch, loss, started, rate)
                keep(result, result_epoch, on_epoch)
        return seconds

    def _pass(
        self,
        optimizer: torch.optim.Optimizer,
        scaler: torch.amp.GradScaler,
        batches: list[np.ndarray],
        description: str,
    ) -> float:
        """One pass over the batches; the mean training loss per row (of every process)."""
        device = next(self.network.parameters()).device
        self.step.train()
        loss_sum, rows_seen = 0.0, 0
        # A bar on a terminal, silence in a log file.
        progress = tqdm(batches, desc=description, unit="batch", leave=False, disable=None)
        for batch in progress:
            rows, weight = self.shard.rows(batch)
            token_ids, lengths, targets = batch_tensors(self.encoder, self.split, rows, device)
            offset = None
            if self.offsets is not None:
                offset = torch.from_numpy(self.offsets[rows]).to(device)
            known = int((~np.isnan(self.split.targets[batch])).sum())
            with self.precision.autocast():
                logits = self.step(token_ids, lengths, offset)
                # This process's share of the batch's mean loss (all of it in one process).
                loss = masked_bce(logits.float(), targets, known) * weight
            optimizer.zero_grad(set_to_none=True)
            # DDP averages the processes' gradients: x world makes that their sum.
            scaler.scale(loss * self.shard.world).backward()
            scaler.step(optimizer)
            scaler.update()
            loss_sum += loss.detach().item() * len(batch)
            rows_seen += len(batch)
            progress.set_postfix(loss=f"{loss_sum / rows_seen:.4f}")
        return self.shard.total(loss_sum) / max(rows_seen, 1)

"""Encoded splits and their batches: length bucketing, masked BCE, whole-split prediction."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from pyfunc.encoding import TextEncoder
from pyfunc.network import ToxicityNet

# Batches are cut from windows of this many batches sorted by length: similar lengths in a batch
# (little padding) while the order stays random across windows.
BUCKET_WINDOW_BATCHES = 50


@dataclass(frozen=True)
class EncodedSplit:
    sequences: list[list[int]]
    targets: np.ndarray  # [rows, labels], float32, NaN where a label is unknown

    def __len__(self) -> int:
        return len(self.sequences)


def encode_split(encoder: TextEncoder, texts: Sequence[str], targets: np.ndarray) -> EncodedSplit:
    return EncodedSplit(encoder.encode(texts), np.asarray(targets, dtype=np.float32))


def length_batches(
    lengths: Sequence[int], batch_size: int, rng: np.random.Generator | None
) -> list[np.ndarray]:
    """Index batches of similar length. rng=None: sorted, deterministic (for evaluation)."""
    lengths = np.asarray(lengths)
    if rng is None:
        order = np.argsort(-lengths, kind="stable")
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    order = rng.permutation(len(lengths))
    window = batch_size * BUCKET_WINDOW_BATCHES
    batches = []
    for start in range(0, len(order), window):
        chunk = order[start : start + window]
        chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def masked_bce(
    logits: torch.Tensor, targets: torch.Tensor, known_in_batch: int | None = None
) -> torch.Tensor:
    """Mean BCE-with-logits over known (non-NaN) targets; fractional targets used as they are.

    known_in_batch: the known targets of the whole batch when these rows are one process's part
    of it (DDP), so that the parts' losses add up to the batch's mean.
    """
    known = ~torch.isnan(targets)
    losses = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, torch.nan_to_num(targets), reduction="none"
    )
    if known_in_batch is not None:
        return (losses * known).sum() / max(known_in_batch, 1)
    return (losses * known).sum() / known.sum().clamp(min=1)


def batch_tensors(
    encoder: TextEncoder, split: EncodedSplit, rows: np.ndarray, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    token_ids, lengths = encoder.pad([split.sequences[i] for i in rows])
    targets = torch.from_numpy(split.targets[rows])
    return token_ids.to(device), lengths, targets.to(device)


def padded_chunks(
    encoder: TextEncoder, split: EncodedSplit, max_rows: int, max_tokens: int
) -> Iterator[tuple[np.ndarray, torch.Tensor, torch.Tensor]]:
    """(rows, token_ids, lengths) for a whole split, longest first: chunks of at most max_rows
    rows and max_tokens padded tokens (rows x the chunk's longest), one row at the least."""
    lengths = np.array([len(s) for s in split.sequences])
    order = np.argsort(-lengths, kind="stable")
    start = 0
    while start < len(order):
        longest = max(int(lengths[order[start]]), 1)
        rows = order[start : start + min(max_rows, max(1, max_tokens // longest))]
        yield rows, *encoder.pad([split.sequences[i] for i in rows])
        start += len(rows)


@torch.inference_mode()
def predict_split(
    network: ToxicityNet,
    encoder: TextEncoder,
    split: EncodedSplit,
    batch_size: int,
    device: torch.device,
) -> tuple[float, np.ndarray]:
    """(mean masked BCE, probabilities [rows, labels]) for a whole split."""
    network.eval()
    probabilities = np.empty(split.targets.shape, dtype=np.float32)
    loss_sum, weight = 0.0, 0
    for rows in length_batches([len(s) for s in split.sequences], batch_size, rng=None):
        token_ids, lengths, targets = batch_tensors(encoder, split, rows, device)
        logits = network(token_ids, lengths)
        known = int((~torch.isnan(targets)).sum())
        loss_sum += float(masked_bce(logits, targets)) * known
        weight += known
        probabilities[rows] = torch.sigmoid(logits).cpu().numpy()
    return loss_sum / max(weight, 1), probabilities

"""Encoded splits and their batches: length bucketing, masked BCE, whole-split prediction."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
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
    """A split's token ids as two flat arrays: 4 bytes a token, where a list of lists of Python
    ints takes about 36 (1.4 GB at 100k Jigsaw comments); cheap to pickle for DDP processes too."""

    tokens: np.ndarray  # int32, every sequence one after another
    bounds: np.ndarray  # int64 [rows + 1]: sequence i is tokens[bounds[i]:bounds[i + 1]]
    targets: np.ndarray  # [rows, labels], float32, NaN where a label is unknown

    @classmethod
    def of(cls, sequences: Sequence[Sequence[int]], targets: np.ndarray) -> EncodedSplit:
        tokens, lengths = _flat(sequences)
        return cls(tokens, _bounds([lengths]), np.asarray(targets, dtype=np.float32))

    def __len__(self) -> int:
        return len(self.bounds) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.bounds)

    def rows(self, indices: Iterable[int]) -> list[np.ndarray]:
        """The sequences of these rows (views into the tokens)."""
        return [self.tokens[self.bounds[i] : self.bounds[i + 1]] for i in indices]


def _flat(sequences: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.fromiter(map(len, sequences), np.int64, len(sequences))
    tokens = np.fromiter(itertools.chain.from_iterable(sequences), np.int32, int(lengths.sum()))
    return tokens, lengths


def _bounds(lengths: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(np.concatenate(lengths))]).astype(np.int64)


# Texts encoded at a time: the tokenizer's per-text objects (tokens, offsets, ...) of one chunk
# are alive at once, not a whole split's.
ENCODE_CHUNK_ROWS = 10_000


def encode_split(encoder: TextEncoder, texts: Sequence[str], targets: np.ndarray) -> EncodedSplit:
    tokens, lengths = [np.zeros(0, np.int32)], [np.zeros(0, np.int64)]
    for start in range(0, len(texts), ENCODE_CHUNK_ROWS):
        chunk_tokens, chunk_lengths = _flat(
            encoder.encode(texts[start : start + ENCODE_CHUNK_ROWS])
        )
        tokens.append(chunk_tokens)
        lengths.append(chunk_lengths)
    return EncodedSplit(
        np.concatenate(tokens), _bounds(lengths), np.asarray(targets, dtype=np.float32)
    )


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
    token_ids, lengths = encoder.pad(split.rows(rows))
    targets = torch.from_numpy(split.targets[rows])
    return token_ids.to(device), lengths, targets.to(device)


def padded_chunks(
    encoder: TextEncoder, split: EncodedSplit, max_rows: int, max_tokens: int
) -> Iterator[tuple[np.ndarray, torch.Tensor, torch.Tensor]]:
    """(rows, token_ids, lengths) for a whole split, longest first: chunks of at most max_rows
    rows and max_tokens padded tokens (rows x the chunk's longest), one row at the least."""
    lengths = split.lengths
    order = np.argsort(-lengths, kind="stable")
    start = 0
    while start < len(order):
        longest = max(int(lengths[order[start]]), 1)
        rows = order[start : start + min(max_rows, max(1, max_tokens // longest))]
        yield rows, *encoder.pad(split.rows(rows))
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
    for rows in length_batches(split.lengths, batch_size, rng=None):
        token_ids, lengths, targets = batch_tensors(encoder, split, rows, device)
        logits = network(token_ids, lengths)
        known = int((~torch.isnan(targets)).sum())
        loss_sum += float(masked_bce(logits, targets)) * known
        weight += known
        probabilities[rows] = torch.sigmoid(logits).cpu().numpy()
    return loss_sum / max(weight, 1), probabilities

"""Training loop: length-bucketed batches, masked BCE on fractional targets, best-epoch keeping."""

from __future__ import annotations

import copy
import os
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from tqdm.auto import tqdm

from pyfunc.encoding import TextEncoder
from pyfunc.network import NetworkConfig, ToxicityNet
from toxic_mlops.config import Config, TrainingConfig
from toxic_mlops.data.dataset import TEXT
from toxic_mlops.evaluation.metrics import macro, roc_auc_per_label

# Rows per chunk when a whole split goes through the wide path (memory, not maths).
WIDE_FIT_CHUNK_ROWS = 1024

# Batches are cut from windows of this many batches sorted by length: similar lengths in a batch
# (little padding) while the order stays random across windows.
BUCKET_WINDOW_BATCHES = 50


@dataclass(frozen=True)
class EncodedSplit:
    sequences: list[list[int]]
    targets: np.ndarray  # [rows, labels], float32, NaN where a label is unknown

    def __len__(self) -> int:
        return len(self.sequences)


@dataclass(frozen=True)
class EpochResult:
    epoch: int
    train_loss: float
    val_loss: float
    val_roc_auc: dict[str, float]
    val_macro_roc_auc: float
    learning_rate: float
    seconds: float


@dataclass
class TrainResult:
    network: ToxicityNet  # holds the weights of the best epoch
    best_epoch: int  # 0: the fitted wide path alone (the deep network never helped on validation)
    history: list[EpochResult] = field(default_factory=list)

    @property
    def best(self) -> EpochResult:
        return next(r for r in self.history if r.epoch == self.best_epoch)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def configure_threads(num_threads: int) -> None:
    torch.set_num_threads(num_threads if num_threads > 0 else (os.cpu_count() or 1))


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


def masked_bce(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean BCE-with-logits over known (non-NaN) targets; fractional targets used as they are."""
    known = ~torch.isnan(targets)
    losses = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, torch.nan_to_num(targets), reduction="none"
    )
    return (losses * known).sum() / known.sum().clamp(min=1)


def _batch_tensors(
    encoder: TextEncoder, split: EncodedSplit, rows: np.ndarray, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    token_ids, lengths = encoder.pad([split.sequences[i] for i in rows])
    targets = torch.from_numpy(split.targets[rows])
    return token_ids.to(device), lengths, targets.to(device)


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
        token_ids, lengths, targets = _batch_tensors(encoder, split, rows, device)
        logits = network(token_ids, lengths)
        known = int((~torch.isnan(targets)).sum())
        loss_sum += float(masked_bce(logits, targets)) * known
        weight += known
        probabilities[rows] = torch.sigmoid(logits).cpu().numpy()
    return loss_sum / max(weight, 1), probabilities


def _padded_chunks(
    encoder: TextEncoder, split: EncodedSplit
) -> Iterator[tuple[np.ndarray, torch.Tensor, torch.Tensor]]:
    """(rows, token_ids, lengths) for a whole split, in chunks of similar length."""
    for rows in length_batches([len(s) for s in split.sequences], WIDE_FIT_CHUNK_ROWS, rng=None):
        yield rows, *encoder.pad([split.sequences[i] for i in rows])


def set_ngram_idf(network: ToxicityNet, encoder: TextEncoder, split: EncodedSplit) -> None:
    """The wide path's inverse document frequencies from a split (smoothed, as scikit-learn's)."""
    buckets = network.config.ngram_buckets
    document_frequency = torch.zeros(buckets, dtype=torch.long)
    for rows, token_ids, lengths in _padded_chunks(encoder, split):
        ids, present = network.ngram_ids(token_ids, lengths)
        row_ids = torch.arange(len(rows))[:, None] * buckets + ids  # one entry per (row, bucket)
        document_frequency += torch.bincount(
            torch.unique(row_ids[present]) % buckets, minlength=buckets
        )
    idf = torch.log((1 + len(split)) / (1 + document_frequency.double())) + 1
    network.ngram_idf.copy_(idf.float())


def ngram_matrix(
    network: ToxicityNet, encoder: TextEncoder, split: EncodedSplit
) -> sparse.csr_matrix:
    """The wide path's input for a split: [rows, buckets], the network's own n-gram weights."""
    row_ids, bucket_ids, values = [], [], []
    for rows, token_ids, lengths in _padded_chunks(encoder, split):
        with torch.no_grad():
            ids, weights = network.ngram_features(token_ids, lengths)
        nonzero = weights > 0
        row_ids.append(np.broadcast_to(rows[:, None], ids.shape)[nonzero.numpy()])
        bucket_ids.append(ids[nonzero].numpy())
        values.append(weights[nonzero].numpy())
    shape = (len(split), network.config.ngram_buckets)
    coordinates = (np.concatenate(row_ids), np.concatenate(bucket_ids))
    return sparse.csr_matrix((np.concatenate(values), coordinates), shape=shape)


def fit_wide_path(
    network: ToxicityNet, encoder: TextEncoder, split: EncodedSplit, c: float
) -> float:
    """Fits the wide path and the heads' biases as one logistic regression per label.

    The same solver as the TF-IDF baseline (liblinear, L2, inverse strength C) on the network's
    own n-gram features. A fractional target y is a positive row of weight y plus a negative row
    of weight 1 - y, which is BCE on y; unknown targets are left out. Returns the mean train BCE.
    """
    assert network.ngrams is not None
    features = ngram_matrix(network, encoder, split)
    weight = torch.zeros_like(network.ngrams.weight)
    bias = torch.zeros_like(network.heads.bias)
    for label in tqdm(range(split.targets.shape[1]), desc="wide path", unit="label", disable=None):
        targets = split.targets[:, label]
        known = ~np.isnan(targets)
        positive, negative = targets[known], 1.0 - targets[known]
        if not positive.any() or not negative.any():  # one class: a constant score
            bias[label] = float(np.log(positive.mean() + 1e-6) - np.log(negative.mean() + 1e-6))
            continue
        rows = features[known]
        sample_weight = np.concatenate([positive, negative])
        keep = sample_weight > 0
        model = LogisticRegression(C=c, solver="liblinear", max_iter=1000).fit(
            sparse.vstack([rows, rows])[keep],
            np.repeat([1, 0], len(positive))[keep],
            sample_weight=sample_weight[keep],
        )
        weight[:, label] = torch.from_numpy(model.coef_[0]).float()
        bias[label] = float(model.intercept_[0])
    with torch.no_grad():
        network.ngrams.weight.copy_(weight)
        network.heads.bias.copy_(bias)
        logits = torch.from_numpy(features @ weight.numpy().astype(np.float64)).float() + bias
    return float(masked_bce(logits, torch.tensor(split.targets)))


def train(
    network: ToxicityNet,
    encoder: TextEncoder,
    train_split: EncodedSplit,
    val_split: EncodedSplit,
    labels: list[str],
    settings: TrainingConfig,
    positive_threshold: float,
    on_epoch: Callable[[EpochResult], None] | None = None,
) -> TrainResult:
    """Adam, lr x lr_decay per epoch; keeps the weights of the epoch with the best val macro AUC.

    With training.ngram_c > 0 the wide path is fitted first and frozen; that state is "epoch 0",
    and it stays the result if no epoch of the deep network improves on it.
    """
    seed_everything(settings.seed)
    device = resolve_device(settings.device)
    wide = network.ngrams
    if wide is not None and network.config.ngram_weighting == "tfidf":
        set_ngram_idf(network, encoder, train_split)
    prefit_wide = wide is not None and settings.ngram_c > 0
    if prefit_wide:
        # The deep network starts silent (zero heads), so epoch 0 is the wide path alone.
        torch.nn.init.zeros_(network.heads.weight)
        started = time.perf_counter()
        wide_loss = fit_wide_path(network, encoder, train_split, settings.ngram_c)
        wide.weight.requires_grad_(False)
    network.to(device)
    wide_weights = [wide.weight] if wide is not None else []
    groups = [
        {"params": [p for p in network.parameters() if all(p is not w for w in wide_weights)]}
    ]
    if wide_weights and not prefit_wide:
        groups.append({"params": wide_weights, "lr": settings.ngram_learning_rate})
    optimizer = torch.optim.Adam(groups, lr=settings.learning_rate)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda e: settings.lr_decay**e)
    rng = np.random.default_rng(settings.seed)
    lengths = [len(s) for s in train_split.sequences]
    best_score, best_state = -np.inf, None
    result = TrainResult(network=network, best_epoch=0)

    def end_epoch(epoch: int, train_loss: float, learning_rate: float, started: float) -> None:
        nonlocal best_score, best_state
        val_loss, val_probabilities = predict_split(
            network, encoder, val_split, settings.batch_size, device
        )
        val_auc = roc_auc_per_label(
            val_split.targets, val_probabilities, labels, positive_threshold
        )
        epoch_result = EpochResult(
            epoch=epoch,
            train_loss=train_loss,
            val_loss=val_loss,
            val_roc_auc=val_auc,
            val_macro_roc_auc=macro(val_auc),
            learning_rate=learning_rate,
            seconds=time.perf_counter() - started,
        )
        result.history.append(epoch_result)
        if on_epoch:
            on_epoch(epoch_result)
        # With no scoreable label (tiny data), fall back to the lowest validation loss.
        score = epoch_result.val_macro_roc_auc
        score = score if not np.isnan(score) else -val_loss
        if score > best_score:
            best_score, result.best_epoch = score, epoch
            best_state = copy.deepcopy(network.state_dict())

    if prefit_wide:
        end_epoch(0, wide_loss, 0.0, started)
    for epoch in range(1, settings.epochs + 1):
        started = time.perf_counter()
        learning_rate = optimizer.param_groups[0]["lr"]
        network.train()
        batches = length_batches(lengths, settings.batch_size, rng)
        loss_sum, rows_seen = 0.0, 0
        progress = tqdm(
            batches,
            desc=f"epoch {epoch}/{settings.epochs}",
            unit="batch",
            leave=False,
            disable=None,  # a bar on a terminal, silence in a log file
        )
        for rows in progress:
            token_ids, batch_lengths, targets = _batch_tensors(encoder, train_split, rows, device)
            loss = masked_bce(network(token_ids, batch_lengths), targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach().item() * len(rows)
            rows_seen += len(rows)
            progress.set_postfix(loss=f"{loss_sum / rows_seen:.4f}")
        scheduler.step()
        end_epoch(epoch, loss_sum / max(rows_seen, 1), learning_rate, started)

    assert best_state is not None, "epochs must be >= 1"
    network.load_state_dict(best_state)
    network.to("cpu").eval()
    return result


@dataclass
class Fitted:
    """A trained network and everything it was trained with (for scoring and packaging)."""

    result: TrainResult
    encoder: TextEncoder
    encoded: dict[str, EncodedSplit]
    network_config: NetworkConfig
    settings: TrainingConfig


def fit(
    config: Config,
    splits: Mapping[str, Any],
    tokenizer_file: Path,
    on_epoch: Callable[[EpochResult], None] | None = None,
) -> Fitted:
    """Encode the splits (pandas frames) with the tokenizer and train the config's network."""
    dataset, settings, model = config.dataset, config.training, config.model
    labels = dataset.label_columns
    configure_threads(settings.num_threads)
    # The wide path may read further than the LSTM: the encoder keeps that many tokens and the
    # network cuts the LSTM's input to training.max_len.
    wide_reads_further = model.ngram_buckets > 0 and model.ngram_max_len > settings.max_len
    encoder = TextEncoder.from_file(
        tokenizer_file,
        config.normalization,
        model.ngram_max_len if wide_reads_further else settings.max_len,
    )
    encoded = {
        name: encode_split(encoder, part[TEXT].tolist(), part[labels].to_numpy())
        for name, part in splits.items()
    }
    network_config = NetworkConfig(
        vocab_size=encoder.tokenizer.get_vocab_size(),
        num_labels=len(labels),
        padding_idx=encoder.pad_id,
        deep_max_len=settings.max_len if wide_reads_further else 0,
        **asdict(model),
    )
    seed_everything(settings.seed)  # the initial weights too
    result = train(
        ToxicityNet(network_config),
        encoder,
        encoded["train"],
        encoded["val"],
        labels,
        settings,
        dataset.positive_threshold,
        on_epoch=on_epoch,
    )
    return Fitted(result, encoder, encoded, network_config, settings)

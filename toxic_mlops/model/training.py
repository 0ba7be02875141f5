"""Training loop: length-bucketed batches, masked BCE on fractional targets, best-epoch keeping."""

from __future__ import annotations

import copy
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from pyfunc.encoding import TextEncoder
from pyfunc.network import NetworkConfig, ToxicityNet
from toxic_mlops.config import Config, ModelConfig, TrainingConfig
from toxic_mlops.data.dataset import TEXT
from toxic_mlops.data.download import default_cache_dir
from toxic_mlops.data.embeddings import check_shape, load_pretrained
from toxic_mlops.evaluation.identity import flat_terms
from toxic_mlops.evaluation.metrics import macro, roc_auc_per_label
from toxic_mlops.model.batches import (
    EncodedSplit,
    batch_tensors,
    encode_split,
    length_batches,
    masked_bce,
    predict_split,
)
from toxic_mlops.model.mitigation import mitigated
from toxic_mlops.model.obfuscation import augmented, training_lexicon
from toxic_mlops.model.wide import char_ngram_table, identity_char_ngrams, prepare_wide_path


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

    @property
    def best(self) -> EpochResult:
        return next(r for r in self.history if r.epoch == self.best_epoch)

    def record(self, epoch: EpochResult) -> None:
        """Adds an epoch; keeps a copy of the network's weights when it is the best so far."""
        best_score = self.best.selection_score if self.best_state is not None else -np.inf
        self.history.append(epoch)
        if epoch.selection_score > best_score:
            self.best_epoch = epoch.epoch
            self.best_state = copy.deepcopy(self.network.state_dict())


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


def _optimizer(
    network: ToxicityNet, settings: TrainingConfig, wide_frozen: bool
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """Adam (the wide path, when trained jointly, at its own rate), lr x lr_decay per epoch."""
    wide_weights = [network.ngrams.weight] if network.ngrams is not None else []
    groups = [
        {"params": [p for p in network.parameters() if all(p is not w for w in wide_weights)]}
    ]
    if wide_weights and not wide_frozen:
        groups.append({"params": wide_weights, "lr": settings.ngram_learning_rate})
    optimizer = torch.optim.Adam(groups, lr=settings.learning_rate)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda e: settings.lr_decay**e)
    return optimizer, scheduler


def _train_epoch(
    network: ToxicityNet,
    encoder: TextEncoder,
    split: EncodedSplit,
    optimizer: torch.optim.Optimizer,
    batches: list[np.ndarray],
    description: str,
    offsets: np.ndarray | None = None,
) -> float:
    """One pass over the batches; the mean training loss per row.

    offsets [rows, labels]: the wide path's out-of-fold logits, added to the deep path's in
    place of the wide path's own (see wide.WideFit).
    """
    device = next(network.parameters()).device
    network.train()
    loss_sum, rows_seen = 0.0, 0
    # A bar on a terminal, silence in a log file.
    progress = tqdm(batches, desc=description, unit="batch", leave=False, disable=None)
    for rows in progress:
        token_ids, lengths, targets = batch_tensors(encoder, split, rows, device)
        if offsets is None:
            logits = network(token_ids, lengths)
        else:
            offset = torch.from_numpy(offsets[rows]).to(device)
            logits = network.deep_logits(token_ids, lengths) + offset
        loss = masked_bce(logits, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum += loss.detach().item() * len(rows)
        rows_seen += len(rows)
        progress.set_postfix(loss=f"{loss_sum / rows_seen:.4f}")
    return loss_sum / max(rows_seen, 1)


@dataclass(frozen=True)
class _Validation:
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


def _keep(
    result: TrainResult, epoch: EpochResult, on_epoch: Callable[[EpochResult], None] | None
) -> None:
    result.record(epoch)
    if on_epoch:
        on_epoch(epoch)


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
    validation = _Validation(encoder, val_split, labels, settings.batch_size, positive_threshold)
    result = TrainResult(network=network, best_epoch=0)
    prefit = prepare_wide_path(
        network,
        encoder,
        train_split,
        settings.ngram_c,
        settings.ngram_folds,
        settings.seed,
        settings.ngram_nb_min_rows if settings.ngram_nb else None,
    )
    network.to(resolve_device(settings.device))
    optimizer, scheduler = _optimizer(network, settings, wide_frozen=prefit is not None)
    offsets = prefit.offsets if prefit is not None else None
    if prefit is not None:
        result.nb_scaled_labels = [labels[i] for i in prefit.nb_scaled]
        epoch_zero = validation.epoch_result(network, 0, prefit.train_loss, prefit.started, 0.0)
        _keep(result, epoch_zero, on_epoch)
    rng = np.random.default_rng(settings.seed)
    lengths = [len(s) for s in train_split.sequences]
    for epoch in range(1, settings.epochs + 1):
        started, rate = time.perf_counter(), optimizer.param_groups[0]["lr"]
        batches = length_batches(lengths, settings.batch_size, rng)
        description = f"epoch {epoch}/{settings.epochs}"
        loss = _train_epoch(network, encoder, train_split, optimizer, batches, description, offsets)
        scheduler.step()
        _keep(result, validation.epoch_result(network, epoch, loss, started, rate), on_epoch)
    assert result.best_state is not None, "epochs must be >= 1"
    network.load_state_dict(result.best_state)
    network.to("cpu").eval()
    return result


def _char_ngram_table(encoder: TextEncoder, config: Config) -> np.ndarray | None:
    """The wide path's per-token char n-gram buckets, when model.char_ngram_max asks for them;
    under `blind` mitigation without the identity terms' longer n-grams."""
    max_n, buckets = config.model.char_ngram_max, config.model.ngram_buckets
    if max_n <= 0 or buckets <= 0:
        return None
    excluded: set[str] = set()
    if config.training.bias_mitigation == "blind":
        excluded = identity_char_ngrams(flat_terms(config.bias.identity_terms), max_n)
    tokenizer = encoder.tokenizer
    pieces = [tokenizer.id_to_token(i) or "" for i in range(tokenizer.get_vocab_size())]
    special = {encoder.pad_id, encoder.unk_id}
    return char_ngram_table(
        ["" if i in special else p for i, p in enumerate(pieces)], max_n, buckets, excluded
    )


def _initialise_embeddings(
    network: ToxicityNet, encoder: TextEncoder, model: ModelConfig, matrix: np.ndarray | None
) -> None:
    """The embedding layer from pretrained vectors (ModelConfig), frozen if the config says so."""
    source = model.pretrained_embeddings
    if matrix is None:
        vocab = encoder.tokenizer.get_vocab()
        matrix = load_pretrained(source, vocab, default_cache_dir()).matrix
    check_shape(matrix, network.config.vocab_size, network.config.embedding_dim, source)
    with torch.no_grad():
        network.embedding.weight.copy_(torch.from_numpy(matrix))
    network.embedding.weight.requires_grad_(not model.freeze_embeddings)


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
    embeddings: np.ndarray | None = None,
) -> Fitted:
    """Encode the splits (pandas frames) with the tokenizer and train the config's network.

    embeddings: the preprocess step's matrix for model.pretrained_embeddings; built here from
    the file when the config names one and none is given (a folder of splits, tuning trials).
    """
    dataset, settings, model = config.dataset, config.training, config.model
    labels = dataset.label_columns
    configure_threads(settings.num_threads)
    # The wide path may read further than the LSTM: the encoder keeps that many tokens and the
    # network cuts the LSTM's input to training.max_len.
    wide_reads_further = model.ngram_buckets > 0 and model.ngram_max_len > settings.max_len
    train_rows = mitigated(splits["train"], config)
    lexicon = training_lexicon(train_rows, config)
    encoder = TextEncoder.from_file(
        tokenizer_file,
        config.normalization,
        model.ngram_max_len if wide_reads_further else settings.max_len,
        lexicon if config.robustness.respell else (),
    )
    splits = {**splits, "train": augmented(train_rows, config, lexicon)}
    encoded = {
        name: encode_split(encoder, part[TEXT].tolist(), part[labels].to_numpy())
        for name, part in splits.items()
    }
    vocab_size = encoder.tokenizer.get_vocab_size()
    chars = _char_ngram_table(encoder, config)
    network_config = NetworkConfig(
        vocab_size=vocab_size,
        num_labels=len(labels),
        padding_idx=encoder.pad_id,
        deep_max_len=settings.max_len if wide_reads_further else 0,
        char_ngram_slots=0 if chars is None else chars.shape[1],
        **model.network_settings(),
    )
    seed_everything(settings.seed)  # the initial weights too
    network = ToxicityNet(network_config)
    if chars is not None:
        network.token_char_ngrams.copy_(torch.from_numpy(chars))
    if model.pretrained_embeddings:
        _initialise_embeddings(network, encoder, model, embeddings)
    result = train(
        network,
        encoder,
        encoded["train"],
        encoded["val"],
        labels,
        settings,
        dataset.positive_threshold,
        on_epoch=on_epoch,
    )
    return Fitted(result, encoder, encoded, network_config, settings)

"""Training: the wide path's fit, then the deep epochs (epochs.py) here or in DDP processes."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pyfunc.encoding import TextEncoder
from pyfunc.network import ToxicityNet
from pyfunc.network_config import NetworkConfig
from toxic_mlops.config import Config, DistributedConfig, ModelConfig, TrainingConfig
from toxic_mlops.data.dataset import TEXT
from toxic_mlops.data.download import default_cache_dir
from toxic_mlops.data.embeddings import check_shape, load_pretrained
from toxic_mlops.evaluation.identity import flat_terms
from toxic_mlops.model.batches import EncodedSplit, encode_split
from toxic_mlops.model.device import resolve_device, resolve_precision
from toxic_mlops.model.distributed import DistributedJob, train_distributed
from toxic_mlops.model.epochs import (
    DeepEpochs,
    EpochResult,
    TrainingStep,
    TrainResult,
    Validation,
    keep,
    seed_everything,
)
from toxic_mlops.model.mitigation import mitigated
from toxic_mlops.model.obfuscation import augmented, training_words
from toxic_mlops.model.wide import char_ngram_table, identity_char_ngrams, prepare_wide_path


def configure_threads(num_threads: int) -> None:
    torch.set_num_threads(num_threads if num_threads > 0 else (os.cpu_count() or 1))


def train(
    network: ToxicityNet,
    encoder: TextEncoder,
    train_split: EncodedSplit,
    val_split: EncodedSplit,
    labels: list[str],
    settings: TrainingConfig,
    positive_threshold: float,
    on_epoch: Callable[[EpochResult], None] | None = None,
    distributed: DistributedConfig | None = None,
) -> TrainResult:
    """Adam, lr x lr_decay per epoch; keeps the weights of the epoch with the best val macro AUC.

    With training.ngram_c > 0 the wide path is fitted first and frozen; that state is "epoch 0",
    and it stays the result if no epoch of the deep network improves on it. With
    distributed.processes > 0 the deep epochs run in that many DDP processes (distributed.py).
    """
    seed_everything(settings.seed)
    validation = Validation(encoder, val_split, labels, settings.batch_size, positive_threshold)
    result = TrainResult(network=network, best_epoch=0)
    prefit = prepare_wide_path(
        network,
        encoder,
        train_split,
        settings.ngram_c,
        settings.ngram_folds,
        settings.seed,
        settings.ngram_nb_min_rows if settings.ngram_nb else None,
        settings.wide_solver(len(train_split)),
    )
    device = resolve_device(settings.device)
    network.to(device)
    offsets = prefit.offsets if prefit is not None else None
    if prefit is not None:
        result.nb_scaled_labels = [labels[i] for i in prefit.nb_scaled]
        result.wide_solver = prefit.solver
        epoch_zero = validation.epoch_result(network, 0, prefit.train_loss, prefit.started, 0.0)
        keep(result, epoch_zero, on_epoch)
    if distributed is not None and distributed.processes > 0:
        network.to("cpu")
        history = tuple(result.history)
        job = DistributedJob.of(network, train_split, validation, settings, offsets, history)
        train_distributed(job, distributed).adopt_into(result, on_epoch)
    else:
        precision = resolve_precision(settings.precision, device)
        result.device, result.precision = str(device), precision.name
        # One process: the default Shard, every row of every batch.
        step = TrainingStep(network)
        epochs = DeepEpochs(
            step, network, encoder, train_split, settings, precision, offsets=offsets
        )
        epochs.run(validation, result, on_epoch)
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
    lexicon, commonest = training_words(train_rows, config)
    respell = config.robustness.respell
    encoder = TextEncoder.from_file(
        tokenizer_file,
        config.normalization,
        model.ngram_max_len if wide_reads_further else settings.max_len,
        lexicon if respell else (),
        misread_letters=config.robustness.misread_letters,
        frequent_words=commonest if respell else (),
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
        distributed=config.distributed,
    )
    return Fitted(result, encoder, encoded, network_config, settings)

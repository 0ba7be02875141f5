"""The wide path fitted as TF-IDF + logistic regression: IDF, n-gram matrix, liblinear fit."""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from tqdm.auto import tqdm

from pyfunc.encoding import TextEncoder
from pyfunc.network import ToxicityNet
from toxic_mlops.model.batches import EncodedSplit, masked_bce, padded_chunks

# A whole split goes through the wide path in chunks (memory, not maths) of at most this many
# rows and this many n-gram entries (rows x longest text x n-gram columns per token). An entry
# costs ~40 bytes on the way (int64 id, its sort order, weight, masks): with char n-grams (~50
# columns a token) 1,024 rows of 1,024 tokens were 52 M entries, a 2 GB peak at any data size.
WIDE_FIT_CHUNK_ROWS = 1024
WIDE_FIT_CHUNK_ENTRIES = 4_000_000
# Char n-grams kept per token at most (a long piece's first ones): bounds the wide path's input.
MAX_CHAR_NGRAMS_PER_TOKEN = 48
WORD_START = "▁"  # the tokenizer's word-start mark (Metaspace)


def char_ngrams(piece: str, max_n: int) -> list[str]:
    """A token's distinct char n-grams of 2..max_n characters, in order of appearance; the
    word-start mark counts as a space (as scikit-learn's char_wb pads a word)."""
    text = piece.replace(WORD_START, " ")
    grams = [text[i : i + n] for n in range(2, max_n + 1) for i in range(len(text) - n + 1)]
    return list(dict.fromkeys(g for g in grams if g.strip()))[:MAX_CHAR_NGRAMS_PER_TOKEN]


def char_ngram_bucket(gram: str, buckets: int) -> int:
    """A stable hash (unlike Python's hash, the same in every process) into the wide path."""
    return zlib.crc32(("char:" + gram).encode()) % buckets


# Under `blind` mitigation, char n-grams this long or longer taken from an identity term are left
# out: deleting the terms from the training rows leaves their stems ("sexual", "homo") in other
# words of toxic comments, and the template probe then flags "homosexual" (docs/bias.md).
MIN_IDENTITY_NGRAM = 4


def identity_char_ngrams(terms: list[str], max_n: int) -> set[str]:
    """The char n-grams of MIN_IDENTITY_NGRAM..max_n characters inside the identity terms."""
    grams: set[str] = set()
    for term in terms:
        for word in term.lower().split():
            grams.update(
                g for g in char_ngrams(WORD_START + word, max_n) if len(g) >= MIN_IDENTITY_NGRAM
            )
    return grams


def char_ngram_table(
    pieces: list[str], max_n: int, buckets: int, excluded: set[str] | frozenset[str] = frozenset()
) -> np.ndarray:
    """[vocab, slots] int32: per token id (pieces[i] is token i), its char n-grams' buckets but
    the excluded ones, -1 where it has fewer than slots; slots = the most any token has (>= 1)."""
    grams = [[g for g in char_ngrams(piece, max_n) if g not in excluded] for piece in pieces]
    table = np.full((len(pieces), max(1, max(map(len, grams), default=0))), -1, dtype=np.int32)
    for token, found in enumerate(grams):
        ids = list(dict.fromkeys(char_ngram_bucket(gram, buckets) for gram in found))
        table[token, : len(ids)] = ids
    return table


def _chunks(
    network: ToxicityNet, encoder: TextEncoder, split: EncodedSplit
) -> Iterator[tuple[np.ndarray, torch.Tensor, torch.Tensor]]:
    columns = 2 + (network.config.char_ngram_slots if network.config.char_ngrams else 0)
    return padded_chunks(encoder, split, WIDE_FIT_CHUNK_ROWS, WIDE_FIT_CHUNK_ENTRIES // columns)


def set_ngram_idf(network: ToxicityNet, encoder: TextEncoder, split: EncodedSplit) -> None:
    """The wide path's inverse document frequencies from a split (smoothed, as scikit-learn's)."""
    buckets = network.config.ngram_buckets
    document_frequency = torch.zeros(buckets, dtype=torch.long)
    for rows, token_ids, lengths in _chunks(network, encoder, split):
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
    """The wide path's input for a split: [rows, buckets], the network's own n-gram weights.

    Built as one CSR matrix per chunk and stacked: at its peak about twice the result, where one
    COO matrix of the whole split (int64 coordinates, then converted) took five to six times."""
    chunks, order = [], []
    for rows, token_ids, lengths in _chunks(network, encoder, split):
        with torch.no_grad():
            ids, weights = network.ngram_features(token_ids, lengths)
        nonzero = (weights > 0).numpy()
        positions = np.broadcast_to(np.arange(len(rows))[:, None], nonzero.shape)[nonzero]
        coordinates = (positions, ids.numpy()[nonzero])
        shape = (len(rows), network.config.ngram_buckets)
        chunks.append(sparse.csr_matrix((weights.numpy()[nonzero], coordinates), shape=shape))
        order.append(rows)
    stacked = sparse.vstack(chunks, format="csr")
    del chunks
    # The chunks group rows of similar length: back to the split's order.
    return stacked[np.argsort(np.concatenate(order), kind="stable")]


def log_count_ratios(features: sparse.csr_matrix, targets: np.ndarray) -> np.ndarray:
    """[buckets] Naive Bayes log-count ratios of the n-grams for one label (Wang & Manning 2012).

    r = log(p / |p|_1) - log(q / |q|_1), with p (q) an n-gram's presence summed over the positive
    (negative) rows plus 1; a fractional target y counts a row y positive and 1 - y negative. The
    sums run over the n-grams these rows have, so unseen buckets do not dilute them.
    """
    present = (features > 0).astype(np.float64)
    positive = present.T @ targets + 1.0
    negative = present.T @ (1.0 - targets) + 1.0
    # y + (1 - y) = 1 per row: the two sums add up to the n-gram's row count, 0 for an unseen one.
    seen = positive + negative > 2.5
    ratios = np.log(positive / positive[seen].sum()) - np.log(negative / negative[seen].sum())
    return np.where(seen, ratios, 0.0)


def _fit_label(
    features: sparse.csr_matrix, targets: np.ndarray, c: float, nb_scaling: bool
) -> tuple[np.ndarray, float]:
    """(weights, bias) of one label's logistic regression on fractional, partly unknown targets.

    With nb_scaling the regression is fitted on the features times their log-count ratios (NBSVM's
    scaling: the L2 penalty then shrinks an n-gram less the more one-sided it is); the ratios are
    folded back into the weights, so they apply to the unscaled features the network computes.
    """
    known = ~np.isnan(targets)
    positive, negative = targets[known], 1.0 - targets[known]
    if not positive.any() or not negative.any():  # one class: a constant score
        bias = float(np.log(positive.mean() + 1e-6) - np.log(negative.mean() + 1e-6))
        return np.zeros(features.shape[1]), bias
    rows = features if known.all() else features[known]
    ratios = log_count_ratios(rows, positive) if nb_scaling else None
    if ratios is not None:
        rows = rows @ sparse.diags(ratios)
    # Each row a positive of weight y and a negative of weight 1 - y, those of weight 0 left out
    # (most: y is 0 or 1). Picked from `rows` in one go: a stacked double of it was the largest
    # array of the fit.
    as_positive, as_negative = np.flatnonzero(positive > 0), np.flatnonzero(negative > 0)
    model = LogisticRegression(C=c, solver="liblinear", max_iter=1000).fit(
        rows[np.concatenate([as_positive, as_negative])],
        np.repeat([1, 0], [len(as_positive), len(as_negative)]),
        sample_weight=np.concatenate([positive[as_positive], negative[as_negative]]),
    )
    weights = model.coef_[0] if ratios is None else model.coef_[0] * ratios
    return weights, float(model.intercept_[0])


def _out_of_fold_logits(
    features: sparse.csr_matrix,
    targets: np.ndarray,
    c: float,
    folds: int,
    seed: int,
    nb_scaling: bool,
) -> np.ndarray:
    """[rows] logits of one label, each row scored by a model fitted on the other folds."""
    logits = np.zeros(features.shape[0])
    for fitted_on, scored in KFold(folds, shuffle=True, random_state=seed).split(logits):
        coefficients, bias = _fit_label(features[fitted_on], targets[fitted_on], c, nb_scaling)
        logits[scored] = features[scored] @ coefficients + bias
    return logits


def _class_rows(targets: np.ndarray) -> float:
    """Rows of the rarer class (fractional targets: weights summed), unknown targets left out.

    NB ratios are estimated from each class's rows: with few of one class they are noise (on
    Jigsaw, labels with ~200 positives lost test AUC under NB scaling, docs/model.md)."""
    known = targets[~np.isnan(targets)]
    return float(min(known.sum(), (1.0 - known).sum()))


@dataclass(frozen=True)
class WideFit:
    """The fitted wide path's train loss and the offsets the deep network is trained against."""

    train_loss: float
    # [rows, labels]: what the wide path adds to each training row's logits while the deep
    # network trains. Out-of-fold (cross-fitted) logits minus the heads' biases: the frozen path
    # fitted on every row nearly fits them, which would leave the deep network no residual that
    # generalises. None: the frozen path itself (no cross-fitting).
    offsets: np.ndarray | None
    started: float
    nb_scaled: tuple[int, ...] = ()  # the labels fitted on NB-scaled features


def fit_wide_path(
    network: ToxicityNet,
    encoder: TextEncoder,
    split: EncodedSplit,
    c: float,
    folds: int = 0,
    seed: int = 0,
    nb_min_rows: float | None = None,
) -> WideFit:
    """Fits the wide path and the heads' biases as one logistic regression per label.

    The same solver as the TF-IDF baseline (liblinear, L2, inverse strength C) on the network's
    own n-gram features. A fractional target y is a positive row of weight y plus a negative row
    of weight 1 - y, which is BCE on y; unknown targets are left out. With folds >= 2 also the
    out-of-fold logits of every training row (K-fold cross-fitting, shuffled with seed).
    nb_min_rows: None, no scaling; else NBSVM's log-count-ratio scaling for every label with at
    least that many positive and negative training rows (each fit, folds too, with its own ratios).
    """
    assert network.ngrams is not None
    started = time.perf_counter()
    features = ngram_matrix(network, encoder, split)
    weight = torch.zeros_like(network.ngrams.weight)
    bias = torch.zeros_like(network.heads.bias)
    offsets = np.zeros(split.targets.shape) if folds >= 2 else None
    nb_scaled = []
    for label in tqdm(range(split.targets.shape[1]), desc="wide path", unit="label", disable=None):
        targets = split.targets[:, label]
        nb_scaling = nb_min_rows is not None and _class_rows(targets) >= nb_min_rows
        if nb_scaling:
            nb_scaled.append(label)
        coefficients, bias[label] = _fit_label(features, targets, c, nb_scaling)
        weight[:, label] = torch.from_numpy(coefficients).float()
        if offsets is not None:
            oof = _out_of_fold_logits(features, targets, c, folds, seed, nb_scaling)
            offsets[:, label] = oof - float(bias[label])
    with torch.no_grad():
        network.ngrams.weight.copy_(weight)
        network.heads.bias.copy_(bias)
        logits = torch.from_numpy(features @ weight.numpy().astype(np.float64)).float() + bias
    loss = float(masked_bce(logits, torch.tensor(split.targets)))
    offsets = None if offsets is None else offsets.astype(np.float32)
    return WideFit(loss, offsets, started, tuple(nb_scaled))


def prepare_wide_path(
    network: ToxicityNet,
    encoder: TextEncoder,
    split: EncodedSplit,
    c: float,
    folds: int = 0,
    seed: int = 0,
    nb_min_rows: float | None = None,
) -> WideFit | None:
    """Set the IDF (tfidf weighting); with c > 0 fit the wide path alone and freeze it.

    Returns that fit, "epoch 0", or None when nothing was fitted.
    """
    wide = network.ngrams
    if wide is None:
        return None
    if network.config.ngram_weighting == "tfidf":
        set_ngram_idf(network, encoder, split)
    if c <= 0:
        return None
    # The deep network starts silent (zero heads), so epoch 0 is the wide path alone.
    torch.nn.init.zeros_(network.heads.weight)
    fitted = fit_wide_path(network, encoder, split, c, folds, seed, nb_min_rows)
    wide.weight.requires_grad_(False)
    return fitted

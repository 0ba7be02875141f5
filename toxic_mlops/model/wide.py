"""The wide path fitted as TF-IDF + logistic regression: IDF, n-gram matrix, per-label fits.

Two solvers of the same regression (TrainingConfig.ngram_solver): liblinear, as the TF-IDF
baseline, and L-BFGS on the n-gram matrix as it is, for data too large for liblinear's copies.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
from scipy import optimize, sparse
from scipy.special import expit
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


def _chunk_matrices(
    network: ToxicityNet, encoder: TextEncoder, split: EncodedSplit
) -> Iterator[tuple[np.ndarray, sparse.csr_matrix]]:
    """(rows, their n-gram matrix) chunk by chunk, the same chunks every time."""
    for rows, token_ids, lengths in _chunks(network, encoder, split):
        with torch.no_grad():
            ids, weights = network.ngram_features(token_ids, lengths)
        nonzero = (weights > 0).numpy()
        positions = np.broadcast_to(np.arange(len(rows))[:, None], nonzero.shape)[nonzero]
        coordinates = (positions, ids.numpy()[nonzero])
        shape = (len(rows), network.config.ngram_buckets)
        yield rows, sparse.csr_matrix((weights.numpy()[nonzero], coordinates), shape=shape)


def ngram_matrix(
    network: ToxicityNet, encoder: TextEncoder, split: EncodedSplit
) -> sparse.csr_matrix:
    """The wide path's input for a split: [rows, buckets], the network's own n-gram weights.

    Computed twice, chunk by chunk: once to count each row's entries, once to write them in
    place. At its peak: the result and one chunk. Stacking the chunks and putting the rows back
    in order peaked at 2.4 times the result at 100k rows (docs/distributed.md)."""
    row_entries = np.zeros(len(split), dtype=np.int64)
    for rows, chunk in _chunk_matrices(network, encoder, split):
        row_entries[rows] = np.diff(chunk.indptr)
    entries = int(row_entries.sum())
    index_type = np.int32 if entries < np.iinfo(np.int32).max else np.int64
    pointers = np.concatenate([[0], np.cumsum(row_entries)]).astype(index_type)
    values = np.empty(entries, dtype=np.float32)
    columns = np.empty(entries, dtype=index_type)
    for rows, chunk in _chunk_matrices(network, encoder, split):
        # The chunks group rows of similar length: each row goes to its place in the split.
        counts = np.diff(chunk.indptr)
        places = np.repeat(pointers[rows] - chunk.indptr[:-1], counts) + np.arange(chunk.nnz)
        values[places], columns[places] = chunk.data, chunk.indices
    shape = (len(split), network.config.ngram_buckets)
    return _sharing(sparse.csr_matrix, (values, columns, pointers), shape)


def _sharing(
    kind: type[sparse.csr_matrix] | type[sparse.csc_matrix],
    arrays: tuple[np.ndarray, np.ndarray, np.ndarray],
    shape: tuple[int, int],
) -> sparse.csr_matrix | sparse.csc_matrix:
    """A sparse matrix on these (values, indices, pointers) as they are. Not by the constructor:
    it copies a slice that is under half of its array ("pruning"), the matrix's rows at scale."""
    matrix = kind(shape, dtype=arrays[0].dtype)
    matrix.data, matrix.indices, matrix.indptr = arrays
    return matrix


def _row_views(
    features: sparse.csr_matrix, max_entries: int
) -> Iterator[tuple[int, int, sparse.csr_matrix]]:
    """(first row, end row, view) of consecutive row blocks of at most max_entries non-zeros (a
    longer row alone): the views share the matrix's values and columns, nothing is copied."""
    start, rows = 0, features.shape[0]
    while start < rows:
        limit = features.indptr[start] + max(1, max_entries)
        end = max(start + 1, int(np.searchsorted(features.indptr, limit, side="right")) - 1)
        end = min(end, rows)
        low, high = features.indptr[start], features.indptr[end]
        arrays = (
            features.data[low:high],
            features.indices[low:high],
            features.indptr[start : end + 1] - low,
        )
        yield start, end, _sharing(sparse.csr_matrix, arrays, (end - start, features.shape[1]))
        start = end


# Row blocks of the matrix a float64 product reads at a time: scipy multiplies a float32 matrix
# by a float64 vector on a float64 copy of its values, the whole matrix's otherwise.
MARGIN_CHUNK_ENTRIES = 4_000_000


def _margins(features: sparse.csr_matrix, weights: np.ndarray) -> np.ndarray:
    """features @ weights in float64, block by block (each row's sum as in one product)."""
    parts = [view @ weights for _, _, view in _row_views(features, MARGIN_CHUNK_ENTRIES)]
    return np.concatenate(parts) if parts else np.zeros((0, *weights.shape[1:]))


def _presence_sums(features: sparse.csr_matrix, row_weights: np.ndarray) -> np.ndarray:
    """[buckets] row_weights summed over the rows each n-gram is present in, block by block."""
    sums = np.zeros(features.shape[1])
    for start, end, view in _row_views(features, MARGIN_CHUNK_ENTRIES):
        per_entry = np.repeat(row_weights[start:end], np.diff(view.indptr))
        sums += np.bincount(view.indices, weights=per_entry, minlength=features.shape[1])
    return sums


def _nb_ratios(positive_sums: np.ndarray, negative_sums: np.ndarray) -> np.ndarray:
    positive, negative = positive_sums + 1.0, negative_sums + 1.0
    # y + (1 - y) = 1 per row: the two sums add up to the n-gram's row count, 0 for an unseen one.
    seen = positive + negative > 2.5
    ratios = np.log(positive / positive[seen].sum()) - np.log(negative / negative[seen].sum())
    return np.where(seen, ratios, 0.0)


def log_count_ratios(features: sparse.csr_matrix, targets: np.ndarray) -> np.ndarray:
    """[buckets] Naive Bayes log-count ratios of the n-grams for one label (Wang & Manning 2012).

    r = log(p / |p|_1) - log(q / |q|_1), with p (q) an n-gram's presence summed over the positive
    (negative) rows plus 1; a fractional target y counts a row y positive and 1 - y negative. The
    sums run over the n-grams these rows have, so unseen buckets do not dilute them.
    """
    present = (features > 0).astype(np.float64)
    return _nb_ratios(present.T @ targets, present.T @ (1.0 - targets))


@dataclass(frozen=True)
class LabelFit:
    """One label's regression: weights on the unscaled features, and bias."""

    weights: np.ndarray
    bias: float


def _one_class_fit(known_targets: np.ndarray, buckets: int) -> LabelFit:
    """One class only: a constant score."""
    positive, negative = known_targets.mean(), (1.0 - known_targets).mean()
    return LabelFit(np.zeros(buckets), float(np.log(positive + 1e-6) - np.log(negative + 1e-6)))


def _fit_label_liblinear(
    features: sparse.csr_matrix,
    targets: np.ndarray,
    c: float,
    nb_scaling: bool,
) -> LabelFit:
    """One label's logistic regression on fractional, partly unknown (NaN) targets, liblinear.

    With nb_scaling the regression is fitted on the features times their log-count ratios (NBSVM's
    scaling: the L2 penalty then shrinks an n-gram less the more one-sided it is); the ratios are
    folded back into the weights, so they apply to the unscaled features the network computes.
    liblinear copies the rows it fits twice (float64, then its own format): ~30 bytes a non-zero.
    """
    known = ~np.isnan(targets)
    positive, negative = targets[known], 1.0 - targets[known]
    if not positive.any() or not negative.any():
        return _one_class_fit(positive, features.shape[1])
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
    return LabelFit(weights, float(model.intercept_[0]))


LBFGS_MAX_ITERATIONS = 1000
# Stop when an iteration lowers the loss by less than this share of it. scipy's default, 2.2e-9,
# took 1.3-1.6x the iterations on Jigsaw 25k for the same validation AUCs (docs/distributed.md).
LBFGS_RELATIVE_TOLERANCE = 1e-6


class _ThreadedProducts:
    """features @ v and features.T @ u in float32 over row blocks, one per thread (scipy's
    sparse products release the GIL): no copy of the matrix, not even a float64 one."""

    def __init__(self, features: sparse.csr_matrix, threads: int) -> None:
        per_block = math.ceil(features.nnz / max(1, threads)) or 1
        self.blocks = list(_row_views(features, per_block))
        # The same arrays read as [buckets, rows] CSC: the transposed product, still no copy.
        self.transposed = [
            _sharing(sparse.csc_matrix, (view.data, view.indices, view.indptr), view.shape[::-1])
            for _, _, view in self.blocks
        ]
        self.pool = ThreadPoolExecutor(len(self.blocks) or 1)

    def times(self, vector: np.ndarray) -> np.ndarray:
        vector = vector.astype(np.float32)
        parts = self.pool.map(lambda block: block[2] @ vector, self.blocks)
        return np.concatenate(list(parts)).astype(np.float64)

    def transposed_times(self, vector: np.ndarray) -> np.ndarray:
        vector = vector.astype(np.float32)
        pieces = [vector[start:end] for start, end, _ in self.blocks]
        pairs = zip(self.transposed, pieces, strict=True)
        parts = self.pool.map(lambda pair: pair[0] @ pair[1], pairs)
        return np.sum(list(parts), axis=0, dtype=np.float64)

    def close(self) -> None:
        self.pool.shutdown()


def _fit_label_lbfgs(
    features: sparse.csr_matrix,
    targets: np.ndarray,
    c: float,
    nb_scaling: bool,
) -> LabelFit:
    """The same regression as liblinear's (weighted BCE x C + |w|^2 / 2, NB scaling as a change
    of variables) by L-BFGS on the matrix as it is: unknown (NaN) targets weigh 0, so a fold is a
    mask, not a copy. Unlike liblinear the bias is not penalised. Each fit starts from zero: a
    fold's fit started from the full fit would carry a trace of the held-out rows' labels.
    """
    known = ~np.isnan(targets)
    if not (targets[known] > 0).any() or not (targets[known] < 1).any():
        return _one_class_fit(targets[known], features.shape[1])
    positive = np.where(known, targets, 0.0)
    negative = np.where(known, 1.0 - targets, 0.0)
    positive_sums = _presence_sums(features, positive)
    negative_sums = _presence_sums(features, negative)
    # Only the n-grams of the fitted rows have weights (the others' stay 0): far fewer than the
    # buckets on small data, where the solver's own work on every bucket would dominate.
    used = np.flatnonzero(positive_sums + negative_sums > 0)
    scale = np.ones(len(used))
    if nb_scaling:
        scale = _nb_ratios(positive_sums, negative_sums)[used]
    products = _ThreadedProducts(features, torch.get_num_threads())
    every_bucket = np.zeros(features.shape[1])

    def objective(parameters: np.ndarray) -> tuple[float, np.ndarray]:
        weights, bias = parameters[:-1], parameters[-1]
        every_bucket[used] = scale * weights
        margins = products.times(every_bucket) + bias
        loss = c * (positive @ np.logaddexp(0, -margins) + negative @ np.logaddexp(0, margins))
        residual = c * (known * expit(margins) - positive)
        gradient = weights + scale * products.transposed_times(residual)[used]
        return loss + 0.5 * weights @ weights, np.append(gradient, residual.sum())

    try:
        found = optimize.minimize(
            objective,
            np.zeros(len(used) + 1),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": LBFGS_MAX_ITERATIONS, "ftol": LBFGS_RELATIVE_TOLERANCE},
        )
    finally:
        products.close()
    weights = np.zeros(features.shape[1])
    weights[used] = found.x[:-1] * scale
    return LabelFit(weights, float(found.x[-1]))


LabelSolver = Callable[[sparse.csr_matrix, np.ndarray, float, bool], LabelFit]
SOLVERS: dict[str, LabelSolver] = {"liblinear": _fit_label_liblinear, "lbfgs": _fit_label_lbfgs}


def _out_of_fold_logits(
    features: sparse.csr_matrix,
    targets: np.ndarray,
    c: float,
    folds: int,
    seed: int,
    nb_scaling: bool,
    solver: LabelSolver,
) -> np.ndarray:
    """[rows] logits of one label, each row scored by a model fitted on the other folds: the
    scored rows' targets are unknown to the fit (NaN), which then leaves them out."""
    logits = np.zeros(features.shape[0])
    for _, scored in KFold(folds, shuffle=True, random_state=seed).split(logits):
        held_out = targets.copy()
        held_out[scored] = np.nan
        fitted = solver(features, held_out, c, nb_scaling)
        # Every row's margin, then the scored ones': no copy of a fifth of the matrix.
        logits[scored] = _margins(features, fitted.weights)[scored] + fitted.bias
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
    solver: str = "liblinear"


def fit_wide_path(
    network: ToxicityNet,
    encoder: TextEncoder,
    split: EncodedSplit,
    c: float,
    folds: int = 0,
    seed: int = 0,
    nb_min_rows: float | None = None,
    solver: str = "liblinear",
) -> WideFit:
    """Fits the wide path and the heads' biases as one logistic regression per label.

    The same regression as the TF-IDF baseline (L2, inverse strength C) on the network's own
    n-gram features, by the solver named (SOLVERS).
    A fractional target y is a positive row of weight y plus a negative row of weight 1 - y,
    which is BCE on y; unknown targets are left out. With folds >= 2 also the out-of-fold
    logits of every training row (K-fold cross-fitting, shuffled with seed).
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
    fit_label = SOLVERS[solver]
    for label in tqdm(range(split.targets.shape[1]), desc="wide path", unit="label", disable=None):
        targets = split.targets[:, label]
        nb_scaling = nb_min_rows is not None and _class_rows(targets) >= nb_min_rows
        if nb_scaling:
            nb_scaled.append(label)
        fitted = fit_label(features, targets, c, nb_scaling)
        weight[:, label], bias[label] = torch.from_numpy(fitted.weights).float(), fitted.bias
        if offsets is not None:
            oof = _out_of_fold_logits(features, targets, c, folds, seed, nb_scaling, fit_label)
            offsets[:, label] = oof - float(bias[label])
    with torch.no_grad():
        network.ngrams.weight.copy_(weight)
        network.heads.bias.copy_(bias)
        margins = _margins(features, weight.numpy().astype(np.float64))
        logits = torch.from_numpy(margins).float() + bias
    loss = float(masked_bce(logits, torch.tensor(split.targets)))
    offsets = None if offsets is None else offsets.astype(np.float32)
    return WideFit(loss, offsets, started, tuple(nb_scaled), solver)


def prepare_wide_path(
    network: ToxicityNet,
    encoder: TextEncoder,
    split: EncodedSplit,
    c: float,
    folds: int = 0,
    seed: int = 0,
    nb_min_rows: float | None = None,
    solver: str = "liblinear",
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
    fitted = fit_wide_path(network, encoder, split, c, folds, seed, nb_min_rows, solver)
    wide.weight.requires_grad_(False)
    return fitted

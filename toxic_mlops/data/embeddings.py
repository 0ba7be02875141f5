"""Pretrained word vectors (GloVe, fastText text files) as the BPE vocabulary's embedding matrix."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pyfunc.vocabulary import PAD_TOKEN, SPECIAL_TOKENS
from toxic_mlops.config import ConfigError
from toxic_mlops.data.download import DownloadError, fetch
from toxic_mlops.errors import PipelineError

WORD_START = "▁"  # the tokenizer's word-start marker (Metaspace)
# How a vocabulary row was filled, best first: the word itself (a word-start piece), the piece
# as a word, the mean of the file's words containing the piece, small random numbers.
FILLS = ("word", "piece", "containing", "random")
# Pieces of at most this many characters are looked for inside the file's words (longer ones are
# rare and the substrings of every word would cost too much).
MAX_CONTAINED_PIECE = 12
# Only the file's first (most frequent: GloVe and fastText files are sorted) words are averaged
# for a piece: rare words are mostly noise.
CONTAINING_FROM_WORDS = 100_000
MATRIX_FILE, INFO_FILE = "matrix.npy", "info.json"


class EmbeddingsError(PipelineError):
    """A vectors file that cannot be read, or whose dimension the model does not have."""


@dataclass(frozen=True)
class PretrainedEmbeddings:
    matrix: np.ndarray  # [vocab size, dim], float32, row i for token id i
    source: str
    sha256: str
    fills: dict[str, int]  # vocabulary rows per FILLS entry (special tokens not counted)

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    @property
    def coverage(self) -> float:
        """Share of the vocabulary (specials aside) found in the file as a word or a piece."""
        return (self.fills["word"] + self.fills["piece"]) / max(sum(self.fills.values()), 1)

    def info(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "sha256": self.sha256,
            "dim": self.dim,
            "vocab_size": int(self.matrix.shape[0]),
            "coverage": round(self.coverage, 4),
            "fills": self.fills,
        }

    def save(self, folder: Path) -> None:
        """matrix.npy (plain array, no pickle) and info.json."""
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / MATRIX_FILE, self.matrix, allow_pickle=False)
        (folder / INFO_FILE).write_text(json.dumps(self.info(), indent=2))


def load_matrix(path: Path) -> np.ndarray:
    return np.load(path, allow_pickle=False)


def check_shape(matrix: np.ndarray, vocab_size: int, embedding_dim: int, source: str) -> None:
    """A ConfigError when the vectors' dimension is not the model's; an error when the matrix
    was built for another vocabulary."""
    if matrix.shape[1] != embedding_dim:
        raise ConfigError(
            f"{source} has {matrix.shape[1]}-dimensional vectors but model.embedding_dim is "
            f"{embedding_dim}: set model.embedding_dim: {matrix.shape[1]}"
        )
    if matrix.shape[0] != vocab_size:
        raise EmbeddingsError(
            f"the embedding matrix from {source} has {matrix.shape[0]} rows for a vocabulary of "
            f"{vocab_size}: it was built for another tokenizer"
        )


def _lines(path: Path) -> Iterator[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
            yield from handle
    except (OSError, EOFError) as error:
        raise EmbeddingsError(f"{path}: cannot read the vectors file: {error}") from error


def read_vectors(
    path: Path, keep: Callable[[int, str], bool]
) -> tuple[dict[str, np.ndarray], list[str], int]:
    """(vectors of the words `keep(rank, word)` accepts, those words in file order, dimension).

    Reads a GloVe or fastText text file (.gz too). fastText's .vec files start with a
    "<count> <dim>" line; GloVe's do not. A word is everything before the last `dim` fields (a
    few GloVe words hold spaces). Numbers are parsed for the kept words only (speed).
    """
    vectors: dict[str, np.ndarray] = {}
    dim, rank = 0, 0
    for number, line in enumerate(_lines(path), start=1):
        line = line.rstrip("\n\r ")
        if number == 1 and len(line.split(" ")) == 2 and line.replace(" ", "").isdigit():
            dim = int(line.split(" ")[1])
            continue
        dim = dim or line.count(" ")
        fields = line.rsplit(" ", dim)
        if dim < 1 or len(fields) != dim + 1:
            raise EmbeddingsError(f"{path}:{number}: expected a word and {dim} numbers")
        if keep(rank, fields[0]):
            try:
                vectors[fields[0]] = np.asarray(fields[1:], dtype=np.float32)
            except ValueError as error:
                raise EmbeddingsError(f"{path}:{number}: not a number: {error}") from error
        rank += 1
    if not dim:
        raise EmbeddingsError(f"{path}: no vectors in the file")
    return vectors, list(vectors), dim


def _contained_means(
    pieces: set[str], words: list[str], vectors: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """{piece: mean vector of the words that contain it} for the pieces some word contains."""
    sums: dict[str, np.ndarray] = {}
    counts: dict[str, int] = {}
    for word in words:
        held = {
            word[i:j]
            for i in range(len(word))
            for j in range(i + 1, min(len(word), i + MAX_CONTAINED_PIECE) + 1)
        } & pieces
        for piece in held:
            sums[piece] = sums.get(piece, 0) + vectors[word]
            counts[piece] = counts.get(piece, 0) + 1
    return {piece: sums[piece] / counts[piece] for piece in sums}


def embedding_matrix(
    vocab: Mapping[str, int], path: Path, seed: int = 0
) -> tuple[np.ndarray, dict[str, int]]:
    """[vocab size, dim] rows for BPE pieces from a vectors file, and how each row was filled.

    "▁word" (a word-start piece) takes the vector of "word"; a piece missing from the file backs
    off to itself without the marker, then to the mean vector of the file's frequent words that
    contain it, then to small random numbers (at the scale of the vectors found). [PAD] is zeros.
    """
    pieces = {token: token.removeprefix(WORD_START) for token in vocab}
    wanted = {p for t, p in pieces.items() if p and t not in SPECIAL_TOKENS}
    vectors, words, dim = read_vectors(
        path, lambda rank, word: rank < CONTAINING_FROM_WORDS or word in wanted
    )
    frequent = words[:CONTAINING_FROM_WORDS]
    contained = _contained_means(wanted - set(vectors), frequent, vectors)
    scale = float(np.std(list(vectors.values()))) if vectors else 1.0
    rng = np.random.default_rng(seed)
    matrix = np.zeros((len(vocab), dim), dtype=np.float32)
    fills = dict.fromkeys(FILLS, 0)
    # By id: the tokenizer's vocab dict comes in hash order, and the random rows must not
    # depend on it (same vocabulary, same matrix).
    for token, index in sorted(vocab.items(), key=lambda item: item[1]):
        piece = pieces[token]
        if token == PAD_TOKEN:
            continue
        if token in SPECIAL_TOKENS:
            matrix[index] = rng.normal(0.0, 0.1 * scale, dim)
            continue
        if token.startswith(WORD_START) and piece in vectors:
            fill, row = "word", vectors[piece]
        elif piece in vectors:
            fill, row = "piece", vectors[piece]
        elif piece in contained:
            fill, row = "containing", contained[piece]
        else:
            fill, row = "random", rng.normal(0.0, 0.1 * scale, dim)
        matrix[index] = row
        fills[fill] += 1
    return matrix, fills


def load_pretrained(
    source: str, vocab: Mapping[str, int], cache_dir: Path, expected_sha256: str | None = None
) -> PretrainedEmbeddings:
    """The embedding matrix for vocab from a local path or URL (fetched, cached, verified)."""
    try:
        fetched = fetch(source, cache_dir, expected_sha256)
    except DownloadError as error:
        raise EmbeddingsError(f"model.pretrained_embeddings: {error}") from error
    matrix, fills = embedding_matrix(vocab, fetched.path)
    return PretrainedEmbeddings(matrix, source, fetched.sha256, fills)

"""Pretrained vectors to an embedding matrix: sub-word back-off, coverage, formats, errors."""

import gzip
from pathlib import Path

import numpy as np
import pytest

from toxic_mlops.config import ConfigError
from toxic_mlops.data.download import file_sha256
from toxic_mlops.data.embeddings import (
    EmbeddingsError,
    check_shape,
    embedding_matrix,
    load_matrix,
    load_pretrained,
)

VECTORS = {
    "hello": [1.0, 0.0, 0.0],
    "ing": [0.0, 2.0, 0.0],
    "world": [0.0, 0.0, 4.0],
    "work": [2.0, 0.0, 2.0],
    "new york": [9.0, 9.0, 9.0],  # GloVe has a few words with spaces
}
# [PAD], [UNK]; word-start pieces ("▁hello", "▁ing") take their word's vector; a word-internal
# piece ("ing") its own as a word; "wor" is only inside words; "▁qzx" is nowhere.
VOCAB = {"[PAD]": 0, "[UNK]": 1, "▁hello": 2, "ing": 3, "▁ing": 4, "wor": 5, "▁qzx": 6}


def _glove(path: Path, header: bool = False) -> Path:
    lines = [f"{w} " + " ".join(str(v) for v in vec) for w, vec in VECTORS.items()]
    text = "\n".join(([f"{len(VECTORS)} 3"] if header else []) + lines) + "\n"
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def test_pieces_back_off_to_the_word_the_piece_and_words_holding_it(tmp_path) -> None:
    matrix, fills = embedding_matrix(VOCAB, _glove(tmp_path / "v.txt"))
    assert matrix.shape == (7, 3) and matrix.dtype == np.float32
    assert not matrix[0].any()  # [PAD] stays zeros
    np.testing.assert_array_equal(matrix[2], VECTORS["hello"])
    np.testing.assert_array_equal(matrix[3], VECTORS["ing"])
    np.testing.assert_array_equal(matrix[4], VECTORS["ing"])
    np.testing.assert_allclose(matrix[5], np.mean([VECTORS["world"], VECTORS["work"]], axis=0))
    assert matrix[6].any() and np.abs(matrix[6]).max() < 1.0  # small random
    assert fills == {"word": 2, "piece": 1, "containing": 1, "random": 1}


def test_fasttext_header_and_gzip_read_the_same(tmp_path) -> None:
    plain, _ = embedding_matrix(VOCAB, _glove(tmp_path / "v.txt"))
    zipped, _ = embedding_matrix(VOCAB, _glove(tmp_path / "v.vec.gz", header=True))
    np.testing.assert_array_equal(plain, zipped)


def test_load_pretrained_from_a_url_records_source_digest_and_coverage(
    tmp_path, data_server
) -> None:
    served = _glove(data_server.directory / "vectors.txt")
    url = f"{data_server.url}/vectors.txt"
    embeddings = load_pretrained(url, VOCAB, tmp_path / "cache", file_sha256(served))
    assert embeddings.info() == {
        "source": url,
        "sha256": file_sha256(served),
        "dim": 3,
        "vocab_size": 7,
        "coverage": 0.6,  # 3 of the 5 pieces (specials aside) found as a word or a piece
        "fills": {"word": 2, "piece": 1, "containing": 1, "random": 1},
    }
    embeddings.save(tmp_path / "out")
    np.testing.assert_array_equal(load_matrix(tmp_path / "out" / "matrix.npy"), embeddings.matrix)
    with pytest.raises(EmbeddingsError, match="sha256"):
        load_pretrained(url, VOCAB, tmp_path / "other-cache", "0" * 64)


def test_bad_files_and_shapes_are_named(tmp_path) -> None:
    broken = tmp_path / "broken.txt"
    broken.write_text("hello 1.0 2.0\nworld 1.0 x\n")
    with pytest.raises(EmbeddingsError, match="broken.txt:2"):
        embedding_matrix(VOCAB, broken)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(EmbeddingsError, match="no vectors"):
        embedding_matrix(VOCAB, empty)
    with pytest.raises(EmbeddingsError, match="no such file"):
        load_pretrained(str(tmp_path / "missing.txt"), VOCAB, tmp_path)
    with pytest.raises(ConfigError, match="model.embedding_dim: 3"):
        check_shape(np.zeros((7, 3)), 7, 50, "v.txt")
    with pytest.raises(EmbeddingsError, match="another tokenizer"):
        check_shape(np.zeros((9, 3)), 7, 3, "v.txt")

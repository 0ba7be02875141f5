"""Tokenizer training and the encoder the served model uses."""

from pathlib import Path

import pytest
import torch

from pyfunc.encoding import CHARS_PER_TOKEN_BUDGET, TextEncoder
from pyfunc.network_config import NetworkConfig
from pyfunc.scoring import ModelSpec
from pyfunc.text import Normalizer
from pyfunc.vocabulary import PAD_TOKEN, UNK_TOKEN
from tests.synthetic import make_comments
from toxic_mlops.data.tokenizer import train_tokenizer

TEXTS = ["you are a total idiot", "thanks that was helpful", "the council vote is next week"] * 20


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    tokenizer = train_tokenizer(TEXTS, Normalizer(), vocab_size=200, min_frequency=1)
    return TextEncoder(tokenizer, Normalizer(), max_len=5)


def test_special_tokens_have_fixed_ids(encoder: TextEncoder) -> None:
    assert encoder.tokenizer.token_to_id(PAD_TOKEN) == encoder.pad_id == 0
    assert encoder.tokenizer.token_to_id(UNK_TOKEN) == encoder.unk_id == 1


def test_round_trip_through_json(encoder: TextEncoder, tmp_path: Path) -> None:
    path = tmp_path / "tokenizer.json"
    encoder.tokenizer.save(str(path))
    reloaded = TextEncoder.from_file(path, Normalizer(), max_len=5)
    texts = ["You are a TOTAL idiot!!!", "helpful council", "zzz qqq"]
    assert reloaded.encode(texts) == encoder.encode(texts)
    assert encoder.tokenizer.decode(encoder.encode(["thanks that was"])[0]) == "thanks that was"


def test_truncates_to_max_len_and_never_returns_empty(encoder: TextEncoder) -> None:
    long, empty, blank = encoder.encode(["the council vote " * 50, "", "   "])
    assert len(long) == 5
    assert empty == blank == [encoder.unk_id]


def test_huge_text_is_cut_before_normalising(encoder: TextEncoder) -> None:
    assert encoder.max_chars == 5 * CHARS_PER_TOKEN_BUDGET  # the default: max_len tokens' worth
    assert len(encoder.normalize(["x y " * 1_000_000])[0]) <= encoder.max_chars


def test_a_served_model_may_read_fewer_characters(encoder: TextEncoder) -> None:
    capped = TextEncoder(encoder.tokenizer, Normalizer(), max_len=5, max_chars=8)
    assert capped.normalize(["you are a total idiot"]) == ["you are"]  # 8 characters, stripped
    assert capped.encode(["you are a total idiot"]) == encoder.encode(["you are"])
    with pytest.raises(ValueError, match="max_chars"):
        TextEncoder(encoder.tokenizer, Normalizer(), max_len=5, max_chars=-1)


def test_a_model_config_without_the_serving_limits_loads_with_the_defaults() -> None:
    """model_config.json of models logged before serving.max_chars / max_request_mb, or before
    two misread letters were read back (they read one, as they did), or before the training
    split's commonest words were kept (the tokenizer's merge order ranks words, as it did)."""
    spec = ModelSpec(NetworkConfig(vocab_size=10, num_labels=1), ["toxicity"], 5, Normalizer())
    newer = ("max_chars", "max_request_mb", "misread_letters", "frequent_words")
    old = {k: v for k, v in spec.to_dict().items() if k not in newer}
    assert ModelSpec.from_dict(old) == spec
    assert (spec.max_chars, spec.max_request_mb, spec.misread_letters) == (0, 32, 1)
    assert spec.frequent_words == []


def test_pad_to_longest_in_batch(encoder: TextEncoder) -> None:
    token_ids, lengths = encoder.pad([[5, 6, 7], [8]])
    assert token_ids.tolist() == [[5, 6, 7], [8, 0, 0]]
    assert lengths.tolist() == [3, 1]
    assert token_ids.dtype == torch.long


def test_max_len_must_be_positive(encoder: TextEncoder) -> None:
    with pytest.raises(ValueError, match="max_len"):
        TextEncoder(encoder.tokenizer, Normalizer(), max_len=0)


def test_tokenizer_training_is_reproducible() -> None:
    # The same train split must give the same vocabulary, or the same seed gives another model.
    texts = make_comments(400, seed=1)["text"].tolist()
    trained = {train_tokenizer(texts, Normalizer(), 120, 1).to_str() for _ in range(4)}
    assert len(trained) == 1

"""The wide path's char n-grams: what a token contributes, exact features, padding, config."""

import pytest
import torch

from pyfunc.network import ToxicityNet
from pyfunc.network_config import NetworkConfig
from tests.conftest import tiny_config
from toxic_mlops.config import ConfigError, build_config
from toxic_mlops.model.wide import (
    char_ngram_bucket,
    char_ngram_table,
    char_ngrams,
    identity_char_ngrams,
)

PIECES = ["", "", "▁idiot", "s", "▁you", "▁aaa", "!"]
BUCKETS = 1 << 16


def _network(max_n: int = 3) -> ToxicityNet:
    table = char_ngram_table(PIECES, max_n, BUCKETS)
    config = NetworkConfig(
        vocab_size=len(PIECES),
        num_labels=2,
        embedding_dim=4,
        hidden_size=2,
        ngram_buckets=BUCKETS,
        ngram_weighting="tfidf",
        char_ngram_max=max_n,
        char_ngram_slots=table.shape[1],
    )
    torch.manual_seed(0)
    network = ToxicityNet(config).eval()
    network.token_char_ngrams.copy_(torch.from_numpy(table))
    torch.nn.init.normal_(network.ngrams.weight)
    return network


def test_a_token_has_its_distinct_char_ngrams_with_the_word_start_as_a_space() -> None:
    assert char_ngrams("▁you", 3) == [" y", "yo", "ou", " yo", "you"]
    assert char_ngrams("▁aaa", 3) == [" a", "aa", " aa", "aaa"]  # each once
    assert char_ngrams("!", 5) == [] and char_ngrams("", 5) == []
    assert char_ngram_bucket("you", BUCKETS) == char_ngram_bucket("you", BUCKETS) < BUCKETS


def test_the_table_holds_each_tokens_buckets_and_pads_with_minus_one() -> None:
    table = char_ngram_table(PIECES, 3, BUCKETS)
    assert table.shape == (len(PIECES), len(char_ngrams("▁idiot", 3)))
    assert (table[0] == -1).all() and (table[6] == -1).all()  # special and punctuation: none
    expected = [char_ngram_bucket(g, BUCKETS) for g in char_ngrams("▁you", 3)]
    assert table[4, : len(expected)].tolist() == expected
    assert (table[4, len(expected) :] == -1).all()


def test_features_are_tfidf_over_token_and_char_ngrams_together() -> None:
    """A text's wide features: each distinct n-gram once, times its IDF, L2-normalised."""
    network = _network()
    token_ids, lengths = torch.tensor([[4, 2, 3, 2]]), torch.tensor([4])
    ids, weights = network.ngram_features(token_ids, lengths)
    kept = weights[0] > 0
    # "you idiot s idiot": unigrams 4, 2, 3; bigrams (4,2), (2,3), (3,2); the chars of you,
    # idiot and s (idiot's only once).
    grams = {char_ngram_bucket(g, BUCKETS) for p in ("▁you", "▁idiot") for g in char_ngrams(p, 3)}
    assert int(kept.sum()) == 3 + 3 + len(grams)
    assert set(ids[0][kept].tolist()) >= grams
    torch.testing.assert_close(weights[0].norm(), torch.tensor(1.0))


def test_char_ngrams_do_not_depend_on_padding() -> None:
    network = _network()
    text = torch.tensor([[4, 2, 3]])
    alone = network(text, torch.tensor([3]))
    batch = torch.tensor([[4, 2, 3, 0, 0, 0], [5, 2, 2, 6, 4, 3]])
    torch.testing.assert_close(alone, network(batch, torch.tensor([3, 6]))[:1])


def test_char_ngrams_change_the_score_and_off_means_the_old_network() -> None:
    with_chars = _network()
    config = with_chars.config
    without = ToxicityNet(
        NetworkConfig(**{**config.to_dict(), "char_ngram_max": 0, "char_ngram_slots": 0})
    ).eval()
    assert not hasattr(without, "token_char_ngrams")
    without.load_state_dict(
        {k: v for k, v in with_chars.state_dict().items() if k != "token_char_ngrams"}
    )
    text, length = torch.tensor([[4, 2]]), torch.tensor([2])
    assert not torch.allclose(with_chars(text, length), without(text, length))


@pytest.mark.parametrize(
    "model",
    [
        {"char_ngram_max": 1},
        {"char_ngram_max": 5, "ngram_weighting": "mean", "ngram_c": 0},
    ],
)
def test_bad_char_ngram_settings_are_a_config_error(model: dict) -> None:
    raw = tiny_config()
    training = dict(raw["training"])
    if "ngram_c" in model:
        training["ngram_c"] = model.pop("ngram_c")
    raw = {**raw, "model": {**raw["model"], **model}, "training": training}
    with pytest.raises(ConfigError, match="char_ngram_max"):
        build_config(raw)


def test_blind_mitigation_leaves_the_identity_terms_stems_out_of_the_table() -> None:
    """Deleting "homosexual" from training rows is not enough when "sexual" still carries the
    toxicity of other words: under blind, the terms' longer char n-grams are not features."""
    excluded = identity_char_ngrams(["homosexual", "african american"], 5)
    assert {"sexua", "xual", " homo", "afric"} <= excluded
    assert all(len(gram) >= 4 for gram in excluded)
    pieces = ["", "", "▁sexually", "▁idiot"]
    kept = char_ngram_table(pieces, 5, BUCKETS, excluded)
    full = char_ngram_table(pieces, 5, BUCKETS)
    assert (
        char_ngram_bucket("xual", BUCKETS) in full[2]
        and char_ngram_bucket("xual", BUCKETS) not in kept[2]
    )
    assert char_ngram_bucket("ual", BUCKETS) in kept[2]  # short n-grams stay
    assert sorted(kept[3][kept[3] >= 0]) == sorted(full[3][full[3] >= 0])  # other words: the same

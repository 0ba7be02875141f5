"""The BiLSTM: shapes, padding invariance, dropout behaviour."""

import pytest
import torch

from pyfunc.network import SpatialDropout, ToxicityNet
from pyfunc.network_config import NetworkConfig

CONFIG = NetworkConfig(vocab_size=50, num_labels=6, embedding_dim=8, hidden_size=4)


@pytest.fixture
def network() -> ToxicityNet:
    torch.manual_seed(0)
    return ToxicityNet(CONFIG).eval()


def test_one_logit_per_label(network: ToxicityNet) -> None:
    token_ids = torch.randint(1, 50, (3, 7))
    logits = network(token_ids, torch.tensor([7, 3, 1]))
    assert logits.shape == (3, 6)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("ngram_buckets", [0, 997])
def test_score_does_not_depend_on_padding(ngram_buckets: int) -> None:
    """Per-batch padding in serving is only safe if pads never change a text's score."""
    torch.manual_seed(0)
    network = ToxicityNet(
        NetworkConfig(
            vocab_size=50, num_labels=6, embedding_dim=8, hidden_size=4, ngram_buckets=ngram_buckets
        )
    ).eval()
    if network.ngrams is not None:
        torch.nn.init.normal_(network.ngrams.weight)
    text = torch.tensor([[4, 9, 13]])
    alone = network(text, torch.tensor([3]))
    padded = torch.cat([text, torch.zeros(1, 20, dtype=torch.long)], dim=1)
    in_long_batch = network(
        torch.cat([padded, torch.randint(1, 50, (1, 23))]), torch.tensor([3, 23])
    )[:1]
    torch.testing.assert_close(alone, in_long_batch, rtol=1e-5, atol=1e-6)


def test_reference_sizes() -> None:
    """Notebook sizes: 128 units each way, 2 layers, dense width 4 x 128, one head per label."""
    network = ToxicityNet(NetworkConfig(vocab_size=100, num_labels=6))
    assert network.lstm.hidden_size == 128 and network.lstm.num_layers == 2
    assert network.lstm.bidirectional
    assert network.dense1.in_features == network.dense2.out_features == 512
    assert network.heads.out_features == 6


def test_spatial_dropout_drops_whole_channels() -> None:
    torch.manual_seed(0)
    dropout = SpatialDropout(0.5).train()
    out = dropout(torch.ones(2, 10, 16))
    # A channel is either zero at every time step or scaled at every time step.
    per_channel = out.transpose(1, 2)  # [batch, channel, time]
    assert ((per_channel == 0).all(dim=2) | (per_channel == 2).all(dim=2)).all()
    assert (out == 0).any()
    assert torch.equal(dropout.eval()(torch.ones(2, 3, 4)), torch.ones(2, 3, 4))


def test_spatial_dropout_rejects_bad_rate() -> None:
    with pytest.raises(ValueError):
        SpatialDropout(1.0)


def test_ngram_path_is_optional_and_starts_neutral() -> None:
    plain = ToxicityNet(CONFIG)
    assert plain.ngrams is None
    torch.manual_seed(0)
    wide = ToxicityNet(NetworkConfig(**{**CONFIG.to_dict(), "ngram_buckets": 101})).eval()
    torch.manual_seed(0)
    deep = ToxicityNet(CONFIG).eval()
    token_ids, lengths = torch.randint(1, 50, (2, 5)), torch.tensor([5, 2])
    torch.testing.assert_close(wide(token_ids, lengths), deep(token_ids, lengths))
    assert wide.ngrams.weight.shape == (101, 6)


def test_the_wide_path_can_read_further_than_the_lstm() -> None:
    torch.manual_seed(0)
    config = NetworkConfig(
        vocab_size=50,
        num_labels=2,
        embedding_dim=8,
        hidden_size=8,
        ngram_buckets=64,
        ngram_max_len=12,
        deep_max_len=4,
    )
    network = ToxicityNet(config).eval()
    torch.nn.init.normal_(network.ngrams.weight)
    head = torch.tensor([[5, 6, 7, 8, 9, 10, 11, 12]])
    tail_changed = head.clone()
    tail_changed[0, 6] = 30
    lengths = torch.tensor([8])
    with torch.no_grad():
        deep = [
            network._deep_logits(*network._deep_input(ids, lengths)) for ids in (head, tail_changed)
        ]
        full = [network(ids, lengths) for ids in (head, tail_changed)]
    torch.testing.assert_close(deep[0], deep[1])  # the LSTM never sees token 6
    assert not torch.allclose(full[0], full[1])  # the wide path does
    # Padding past a short text still changes nothing, on either path.
    padded = torch.cat([head, torch.zeros(1, 4, dtype=torch.long)], dim=1)
    with torch.no_grad():
        torch.testing.assert_close(network(padded, lengths), full[0])


def _tfidf_network(buckets: int = 997) -> ToxicityNet:
    config = NetworkConfig(
        **{**CONFIG.to_dict(), "ngram_buckets": buckets, "ngram_weighting": "tfidf"}
    )
    network = ToxicityNet(config).eval()
    network.ngram_idf.uniform_(1.0, 3.0)
    return network


def test_tfidf_weighting_counts_each_distinct_ngram_once() -> None:
    network = _tfidf_network()
    twice, thrice = torch.tensor([[4, 9, 4, 9, 0, 0]]), torch.tensor([[4, 9, 4, 9, 4, 9]])
    features = [
        network.ngram_features(twice, torch.tensor([4])),
        network.ngram_features(thrice, torch.tensor([6])),
    ]
    # Both texts hold the n-grams {4, 9, 4-9, 9-4}: the same features, of unit L2 norm.
    as_dicts = [
        {int(i): float(w) for i, w in zip(ids[0], weights[0], strict=True) if w > 0}
        for ids, weights in features
    ]
    assert as_dicts[0].keys() == as_dicts[1].keys() and len(as_dicts[0]) == 4
    for key, weight in as_dicts[0].items():
        assert weight == pytest.approx(as_dicts[1][key])
    assert sum(w * w for w in as_dicts[0].values()) == pytest.approx(1.0)
    # Rarer n-grams (higher IDF) weigh more, in proportion.
    idf = network.ngram_idf
    unigram_4, unigram_9 = 4 % 997, 9 % 997
    assert as_dicts[0][unigram_4] / as_dicts[0][unigram_9] == pytest.approx(
        float(idf[unigram_4] / idf[unigram_9])
    )


def test_tfidf_score_does_not_depend_on_padding() -> None:
    torch.manual_seed(0)
    network = _tfidf_network()
    torch.nn.init.normal_(network.ngrams.weight)
    text = torch.tensor([[4, 9, 13, 4]])
    alone = network(text, torch.tensor([4]))
    in_long_batch = network(
        torch.cat(
            [
                torch.cat([text, torch.zeros(1, 19, dtype=torch.long)], 1),
                torch.randint(1, 50, (1, 23)),
            ]
        ),
        torch.tensor([4, 23]),
    )[:1]
    torch.testing.assert_close(alone, in_long_batch, rtol=1e-5, atol=1e-6)


def test_idf_is_part_of_the_weights_and_unknown_weightings_are_refused() -> None:
    assert "ngram_idf" in _tfidf_network().state_dict()
    assert (
        "ngram_idf"
        not in ToxicityNet(NetworkConfig(**{**CONFIG.to_dict(), "ngram_buckets": 8})).state_dict()
    )
    with pytest.raises(ValueError, match="ngram_weighting"):
        NetworkConfig(vocab_size=5, num_labels=1, ngram_weighting="bm25")

"""The BiLSTM of the reference notebook, made exact for per-batch padding."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from pyfunc.network_config import NetworkConfig
from pyfunc.spans import SpanTagger


class SpatialDropout(nn.Module):
    """Drops whole embedding channels for a sequence (Keras SpatialDropout1D), not single values."""

    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = x.new_empty(x.size(0), 1, x.size(2)).bernoulli_(1.0 - self.p)
        return x * keep / (1.0 - self.p)


class ToxicityNet(nn.Module):
    """Embedding, spatial dropout, BiLSTM stack, max+mean pooling, 2 residual dense layers, heads.

    Sequences are packed and pooling is masked, so a text's score does not depend on how much
    padding its batch has; that is what lets serving pad per batch.
    """

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(
            config.vocab_size, config.embedding_dim, padding_idx=config.padding_idx
        )
        self.spatial_dropout = SpatialDropout(config.spatial_dropout)
        self.lstm = nn.LSTM(
            config.embedding_dim,
            config.hidden_size,
            num_layers=config.num_layers,
            bidirectional=True,
            batch_first=True,
        )
        pooled = 4 * config.hidden_size  # (max, mean) x (forward, backward)
        self.dense1 = nn.Linear(pooled, pooled)
        self.dense2 = nn.Linear(pooled, pooled)
        # One linear head per label, stored as one matrix: row i is label i's head.
        self.heads = nn.Linear(pooled, config.num_labels)
        self.ngrams = (
            nn.EmbeddingBag(config.ngram_buckets, config.num_labels, mode="sum")
            if config.ngram_buckets > 0
            else None
        )
        if self.ngrams is not None:
            nn.init.zeros_(self.ngrams.weight)  # starts as the deep network alone
        if config.ngram_buckets > 0 and config.ngram_weighting == "tfidf":
            self.register_buffer("ngram_idf", torch.ones(config.ngram_buckets))
        if config.char_ngrams:
            # Per token id, the buckets of its char n-grams (-1: none); filled by training.
            table = torch.full((config.vocab_size, config.char_ngram_slots), -1, dtype=torch.int32)
            self.register_buffer("token_char_ngrams", table)
        self.span_tagger = (
            SpanTagger(
                config.vocab_size,
                config.embedding_dim,
                config.span_hidden_size,
                self.span_prior_dim,
                config.padding_idx,
            )
            if config.span_hidden_size > 0
            else None
        )

    def forward(self, token_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits [batch, labels] for token_ids [batch, time] with true lengths [batch] (>= 1)."""
        logits = self.deep_logits(token_ids, lengths)
        if self.ngrams is not None:
            ids, weights = self.ngram_features(token_ids, lengths)
            logits = logits + self.ngrams(ids, per_sample_weights=weights)
        return logits

    def deep_logits(self, token_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The deep path's logits alone; training adds out-of-fold wide logits to them."""
        return self._deep_logits(*self._deep_input(token_ids, lengths))

    @property
    def span_prior_dim(self) -> int:
        return self.config.num_labels if self.config.ngram_buckets > 0 else 0

    def token_prior(self, token_ids: torch.Tensor) -> torch.Tensor:
        """[batch, time, span_prior_dim]: each token's unigram weights in the wide path, per label.

        What the classifier learnt about a token on its own: the span tagger's per-word prior.
        """
        if self.ngrams is None:
            return token_ids.new_zeros((*token_ids.shape, 0), dtype=torch.float)
        return self.ngrams.weight[token_ids % self.config.ngram_buckets]

    def span_logits(
        self, token_ids: torch.Tensor, lengths: torch.Tensor, word_buckets: torch.Tensor
    ) -> torch.Tensor:
        """The span tagger's toxic logit per token [batch, time] (word_buckets: ReadText's)."""
        assert self.span_tagger is not None, "this network has no span tagger"
        prior = [
            self.token_prior(token_ids).detach(),
            self.span_tagger.lexicon(token_ids, word_buckets),
        ]
        return self.span_tagger(token_ids, lengths, torch.cat(prior, dim=-1))

    def _deep_input(
        self, token_ids: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        limit = self.config.deep_max_len
        if not limit or token_ids.size(1) <= limit:
            return token_ids, lengths
        return token_ids[:, :limit], lengths.clamp(max=limit)

    def _deep_logits(self, token_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        embedded = self.spatial_dropout(self.embedding(token_ids))
        packed = pack_padded_sequence(
            embedded, lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        states, _ = self.lstm(packed)
        states, _ = pad_packed_sequence(states, batch_first=True, total_length=token_ids.size(1))
        valid = _valid(token_ids, lengths).unsqueeze(-1)
        mean_pool = (states * valid).sum(dim=1) / valid.sum(dim=1)
        max_pool = states.masked_fill(~valid, float("-inf")).amax(dim=1)
        pooled = torch.cat([max_pool, mean_pool], dim=1)
        # Both dense layers read the pooled vector and are added back to it, as in the notebook.
        hidden = pooled + torch.relu(self.dense1(pooled)) + torch.relu(self.dense2(pooled))
        return self.heads(hidden)

    def ngram_features(
        self, token_ids: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(bucket ids, weights) [batch, n-grams] of a text's unigrams and bigrams.

        The wide path's logits are the weighted sum of its buckets' rows; training fits it alone
        from these (the weights do not depend on the network's parameters).
        """
        ids, present = self.ngram_ids(token_ids, lengths)
        if self.config.ngram_weighting == "mean":
            weights = present.float()
            return ids, weights / weights.sum(dim=1, keepdim=True).clamp(min=1)
        # Each distinct n-gram once: sort a row, keep the first of every run of equal ids.
        ids, order = ids.masked_fill(~present, -1).sort(dim=1)
        present = present.gather(1, order)
        present[:, 1:] &= ids[:, 1:] != ids[:, :-1]
        ids = ids.clamp(min=0)
        weights = self.ngram_idf[ids] * present
        return ids, weights / weights.norm(dim=1, keepdim=True).clamp(min=1e-12)

    def ngram_ids(
        self, token_ids: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(bucket ids, present) [batch, n-grams]: unigrams, bigrams hashed into buckets (time
        and time - 1 columns), then with char n-grams each token's char_ngram_slots columns."""
        valid = _valid(token_ids, lengths)
        buckets = self.config.ngram_buckets
        unigrams = token_ids % buckets
        bigrams = (token_ids[:, :-1] * 1_000_003 + token_ids[:, 1:]) % buckets
        present = torch.cat([valid, valid[:, 1:] & valid[:, :-1]], dim=1)  # a bigram needs both
        ids = torch.cat([unigrams, bigrams], dim=1)
        if not self.config.char_ngrams:
            return ids, present
        chars, char_present = self.token_char_ids(token_ids, valid)
        return torch.cat([ids, chars.flatten(1)], dim=1), torch.cat(
            [present, char_present.flatten(1)], dim=1
        )

    def token_char_ids(
        self, token_ids: torch.Tensor, valid: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(bucket ids, present) [batch, time, char_ngram_slots] of each token's char n-grams."""
        table = self.token_char_ngrams[token_ids].long()
        present = (table >= 0) & valid.unsqueeze(-1)
        return table.clamp(min=0), present


def _valid(token_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """[batch, time] mask of the real (not padding) tokens."""
    positions = torch.arange(token_ids.size(1), device=token_ids.device)
    return positions[None, :] < lengths.to(token_ids.device)[:, None]

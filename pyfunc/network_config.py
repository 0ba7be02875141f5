"""The network's sizes and switches: what a logged model's model_config.json records and
pyfunc/network.py builds from. Apart from the network so the config and the steps that never
build one (download, preprocess, register, ...) read it without importing torch."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

NGRAM_WEIGHTINGS = ("mean", "tfidf")


@dataclass(frozen=True)
class NetworkConfig:
    vocab_size: int
    num_labels: int
    embedding_dim: int = 128
    hidden_size: int = 128
    num_layers: int = 2
    spatial_dropout: float = 0.3
    padding_idx: int = 0
    # > 0 adds a "wide" path: a linear model on hashed token unigrams + bigrams (fastText-style),
    # summed into the logits. 0 = the notebook's network alone.
    ngram_buckets: int = 0
    # How a text's n-grams are weighted: "mean" (each occurrence 1/count, fastText) or "tfidf"
    # (each distinct n-gram once, times its inverse document frequency, L2-normalised per text:
    # the features of a TF-IDF + logistic regression model; the IDF is a buffer set by training).
    ngram_weighting: str = "mean"
    # Tokens the wide path reads when it should read further than the LSTM (long texts such as
    # reviews: it is cheap per token, the LSTM is not); 0 = as far as the LSTM.
    ngram_max_len: int = 0
    # Tokens the LSTM reads, at most (0 = all it is given); training sets it to training.max_len
    # when ngram_max_len is larger, since the encoder then hands over ngram_max_len tokens.
    deep_max_len: int = 0
    # > 0 adds a toxic-span tagger (pyfunc/spans.py) with this BiLSTM width, trained on span
    # annotations after the classifier; 0 = none (models saved before it load unchanged).
    span_hidden_size: int = 0
    # > 1 adds to the wide path every token's character n-grams of 2..char_ngram_max characters
    # (the word-start mark "▁" read as a space), hashed into the same buckets: what makes a
    # linear model on words transfer to other sources (misspellings, inflections, slang).
    # 0 = off. Needs tfidf weighting.
    char_ngram_max: int = 0
    # Char n-grams a token has at most: the width of the token_char_ngrams table (set by training
    # from the vocabulary).
    char_ngram_slots: int = 0

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> NetworkConfig:
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __post_init__(self) -> None:
        if self.ngram_weighting not in NGRAM_WEIGHTINGS:
            raise ValueError(
                f"ngram_weighting must be one of {NGRAM_WEIGHTINGS}, got {self.ngram_weighting!r}"
            )
        if self.char_ngram_max == 1 or self.char_ngram_max < 0:
            raise ValueError(f"char_ngram_max must be 0 (off) or >= 2, got {self.char_ngram_max}")
        if self.char_ngram_max and self.ngram_weighting != "tfidf":
            raise ValueError("char_ngram_max > 0 needs ngram_weighting: tfidf")

    @property
    def char_ngrams(self) -> bool:
        return self.ngram_buckets > 0 and self.char_ngram_max > 0 and self.char_ngram_slots > 0

"""Toxic spans: per-word scores and the character ranges of a comment that make it toxic.

Words are read from the model's own tokens: a run of tokens with no space between them in the
normalised text, trimmed of leading and trailing punctuation tokens (as the SemEval-2021 Task 5
annotations are: a marked span starts and ends on a letter or digit). A word's score is the
highest score of its tokens; the predicted spans are the raw character ranges of the words
scoring at least the threshold (or, when none does, the best word if it scores at least a lower
fallback), two consecutive toxic words merged with what lies between them (annotators mark
"you stupid idiot" as one span, spaces included).

Every offset is [start, end) into the raw string the client sent, in Unicode code points, through
the normaliser's character map (pyfunc/text.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from pyfunc.encoding import CHARS_PER_TOKEN_BUDGET, TextEncoder

# Where per-token span scores come from: a trained tagging head, or the classifier's own wide
# n-gram path (each token's unigram weight plus half of each bigram it is in), or nothing.
SPAN_METHODS = ("tagger", "wide", "none")
DEFAULT_SPAN_MAX_LEN = 256


@dataclass(frozen=True)
class SpanSettings:
    """How the served model scores spans; kept in model_config.json."""

    method: str = "none"
    threshold: float = 0.5  # a word is toxic when its score is at least this
    # A comment with no word over the threshold still gets its best word when that word scores
    # at least this (most comments a client asks about have something toxic); None: never.
    fallback: float | None = None
    max_len: int = DEFAULT_SPAN_MAX_LEN  # tokens read for spans (they may read past the scores')
    label: int = 0  # the label whose wide-path weights score tokens (method "wide")

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> SpanSettings:
        return cls(**(values or {}))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __post_init__(self) -> None:
        if self.method not in SPAN_METHODS:
            raise ValueError(f"span method must be one of {SPAN_METHODS}, got {self.method!r}")


# The tagger's lexicons, counted on the span training data: per token id and per word (its token
# ids hashed into WORD_BUCKETS), (log-odds that the word was marked toxic, log(1 + times seen)).
LEXICON_FEATURES = 4
WORD_BUCKETS = 1 << 18


class SpanTagger(nn.Module):
    """Embedding + priors -> one BiLSTM layer -> a toxic logit per token.

    The priors (also handed to the output layer directly): the token's and its word's span
    lexicon (buffers set by training) and what the caller adds (the classifier's wide-path
    weights).
    """

    def __init__(
        self, vocab_size: int, embedding_dim: int, hidden_size: int, prior_dim: int, padding: int
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding)
        self.register_buffer("token_lexicon", torch.zeros(vocab_size, LEXICON_FEATURES // 2))
        self.register_buffer("word_lexicon", torch.zeros(WORD_BUCKETS, LEXICON_FEATURES // 2))
        prior_dim += LEXICON_FEATURES
        self.dropout = nn.Dropout(0.2)
        self.lstm = nn.LSTM(
            embedding_dim + prior_dim, hidden_size, batch_first=True, bidirectional=True
        )
        self.out = nn.Linear(2 * hidden_size + prior_dim, 1)

    def lexicon(self, token_ids: torch.Tensor, word_buckets: torch.Tensor) -> torch.Tensor:
        """[batch, time, LEXICON_FEATURES] from the lexicon buffers."""
        return torch.cat([self.token_lexicon[token_ids], self.word_lexicon[word_buckets]], dim=-1)

    def forward(
        self, token_ids: torch.Tensor, lengths: torch.Tensor, prior: torch.Tensor
    ) -> torch.Tensor:
        """Logits [batch, time] (padding positions included: mask them) from prior [b, t, p]:
        the caller's features followed by the lexicon's."""
        inputs = torch.cat([self.dropout(self.embedding(token_ids)), prior], dim=-1)
        packed = pack_padded_sequence(inputs, lengths.cpu(), batch_first=True, enforce_sorted=False)
        states, _ = self.lstm(packed)
        states, _ = pad_packed_sequence(states, batch_first=True, total_length=token_ids.size(1))
        return self.out(torch.cat([self.dropout(states), prior], dim=-1)).squeeze(-1)


def word_bucket(ids: Sequence[int]) -> int:
    """A word's lexicon bucket: its token ids hashed (deterministic, unlike Python's hash)."""
    value = 0
    for token in ids:
        value = (value * 1_000_003 + token + 1) % (1 << 61)
    return value % WORD_BUCKETS


@dataclass(frozen=True)
class Word:
    start: int  # raw [start, end), code points
    end: int
    tokens: tuple[int, ...]  # its token positions


@dataclass(frozen=True)
class ReadText:
    """A text as the span scorer reads it: token ids, their words, whether the text was cut."""

    ids: list[int]
    words: list[Word]
    truncated: bool

    def word_buckets(self) -> list[int]:
        """Per token, its word's lexicon bucket (0 outside words)."""
        buckets = [0] * len(self.ids)
        for word in self.words:
            bucket = word_bucket([self.ids[p] for p in word.tokens])
            for position in word.tokens:
                buckets[position] = bucket
        return buckets


def _is_word_part(piece: str) -> bool:
    return any(char.isalnum() or char == "*" for char in piece)


def token_words(text: str, offsets: Sequence[tuple[int, int]]) -> list[tuple[int, int, tuple]]:
    """(start, end, token positions) of the words that tokens with these [start, end) offsets
    into text make: a run of tokens with no space between them, trimmed of leading and trailing
    punctuation tokens; runs with no letter or digit are no word."""
    groups: list[list[int]] = []
    previous_end = -1
    for position, (start, end) in enumerate(offsets):
        if groups and (start <= previous_end or end <= start):
            groups[-1].append(position)  # no space before it: the same word
        else:
            groups.append([position])
        previous_end = max(previous_end, end)
    words = []
    for group in groups:
        parts = [p for p in group if _is_word_part(text[slice(*offsets[p])])]
        if not parts or not any(char.isalnum() for p in parts for char in text[slice(*offsets[p])]):
            continue
        kept = group[group.index(parts[0]) : group.index(parts[-1]) + 1]
        words.append((offsets[kept[0]][0], max(offsets[p][1] for p in kept), tuple(kept)))
    return words


def read_text(encoder: TextEncoder, text: str, max_len: int) -> ReadText:
    """The first max_len tokens of text and the words they make, with raw offsets."""
    cut = text[: max_len * CHARS_PER_TOKEN_BUDGET]
    mapped = encoder.normalizer.map(cut, encoder.respeller)
    encoding = encoder.tokenizer.encode(mapped.text, add_special_tokens=False)
    ids, offsets = encoding.ids[:max_len], encoding.offsets[:max_len]
    words = [
        Word(*mapped.source_span(start, end), tokens)
        for start, end, tokens in token_words(mapped.text, offsets)
    ]
    truncated = len(cut) < len(text) or len(ids) < len(encoding.ids)
    return ReadText(ids or [encoder.unk_id], words, truncated)


def word_scores(read: ReadText, token_scores: Sequence[float]) -> list[float]:
    return [max(token_scores[p] for p in word.tokens) for word in read.words]


def toxic_ranges(
    words: Sequence[Word], scores: Sequence[float], threshold: float, fallback: float | None = None
) -> list[tuple[int, int, float]]:
    """(start, end, score) of the toxic words, consecutive ones merged; score = their highest.

    With no word at the threshold, the best word counts when it scores at least fallback.
    """
    if scores and fallback is not None and max(scores) < threshold and max(scores) >= fallback:
        threshold = max(scores)
    ranges: list[tuple[int, int, float]] = []
    previous_toxic = False
    for word, score in zip(words, scores, strict=True):
        toxic = score >= threshold
        if toxic and previous_toxic:
            start, _, best = ranges[-1]
            ranges[-1] = (start, max(word.end, ranges[-1][1]), max(best, score))
        elif toxic:
            ranges.append((word.start, word.end, score))
        previous_toxic = toxic
    return ranges

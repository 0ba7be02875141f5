"""Which words drove a comment's scores: leave-one-word-out on the whole model, per label.

A word's attribution for a label is how far that label's logit falls when the word's tokens are
taken out of the model's input (negative: the word pulled the score down). It is exact for both
paths at once, the BiLSTM and the wide n-gram path (including its per-text TF-IDF
normalisation), needs no baseline input or gradients, and costs one forward pass per word read,
only when a client asks for it (`params={"explain": true}`).

Every word carries [start, end) offsets into the raw string the client sent, in Unicode code
points (Python string indices), through the normaliser's character map (pyfunc/text.py). Only
the words the model read are listed: text past the character cut or the token limit has none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pyfunc.encoding import TextEncoder
from pyfunc.scoring import Scorer

EXPLANATION_COLUMN = "explanation"
DECIMALS = 4
# Explaining costs a forward pass per word: a request asking for it holds at most this many texts.
MAX_EXPLAINED_ROWS = 100


@dataclass(frozen=True)
class ReadWord:
    start: int  # raw [start, end), code points
    end: int
    positions: tuple[int, ...]  # its token positions in the model's input


def read_words(encoder: TextEncoder, text: str) -> tuple[list[int], list[ReadWord], bool]:
    """(token ids as the model reads them, the words among them, whether text was cut)."""
    cut = text[: encoder.max_chars]
    mapped = encoder.normalizer.map(cut)
    encoding = encoder.tokenizer.encode(mapped.text, add_special_tokens=False)
    ids = encoding.ids[: encoder.max_len]
    positions: dict[int, list[int]] = {}
    for position, word in enumerate(encoding.word_ids[: len(ids)]):
        positions.setdefault(word, []).append(position)
    words = []
    for word_positions in positions.values():
        start = min(encoding.offsets[p][0] for p in word_positions)
        end = max(encoding.offsets[p][1] for p in word_positions)
        if end > start:
            words.append(ReadWord(*mapped.source_span(start, end), tuple(word_positions)))
    truncated = len(cut) < len(text) or len(ids) < len(encoding.ids)
    return ids or [encoder.unk_id], words, truncated


def _without(ids: list[int], word: ReadWord, unk_id: int) -> list[int]:
    left_out = set(word.positions)
    return [token for position, token in enumerate(ids) if position not in left_out] or [unk_id]


def explain(scorer: Scorer, texts: Sequence[str]) -> list[dict[str, Any]]:
    """Per text: {"words": [{start, end, text, attribution: {label: logit drop}}], "truncated"}."""
    read = [read_words(scorer.encoder, text) for text in texts]
    variants: list[list[int]] = []
    for ids, words, _ in read:
        variants.append(ids)
        variants.extend(_without(ids, word, scorer.encoder.unk_id) for word in words)
    # One pass over every text's variants: sorted by length and chunked like any request.
    logits = scorer.predict_ids(variants, logits=True).astype(np.float64)
    explanations, row = [], 0
    for text, (_, words, truncated) in zip(texts, read, strict=True):
        drops = logits[row] - logits[row + 1 : row + 1 + len(words)]
        row += 1 + len(words)
        explanations.append(
            {
                "words": [
                    {
                        "start": word.start,
                        "end": word.end,
                        "text": text[word.start : word.end],
                        "attribution": {
                            label: round(float(value), DECIMALS)
                            for label, value in zip(scorer.spec.labels, drop, strict=True)
                        },
                    }
                    for word, drop in zip(words, drops, strict=True)
                ],
                "truncated": truncated,
            }
        )
    return explanations

"""Which words make a comment toxic: per-word scores and toxic spans, in raw-string offsets.

Asked for with `params={"explain": true}`; a request without it pays nothing. Token scores come
from the model's span tagger when it has one (trained on SemEval-2021 Task 5 annotations), else
from the classifier's wide n-gram path: one extra pass over the request either way, no
per-word re-scoring. Every offset is [start, end) into the raw string the client sent, in
Unicode code points (pyfunc/spans.py); text past the span reader's token limit has none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from pyfunc.encoding import TextEncoder
from pyfunc.network import ToxicityNet
from pyfunc.spans import ReadText, SpanSettings, read_text, toxic_ranges, word_scores

EXPLANATION_COLUMN = "explanation"
DECIMALS = 4
# A request asking for explanations holds at most this many texts (they cost about one more
# pass each, and the answer is larger).
MAX_EXPLAINED_ROWS = 1000


def _wide_token_logits(
    network: ToxicityNet, token_ids: torch.Tensor, lengths: torch.Tensor, label: int
) -> torch.Tensor:
    """The label's logit for a text of this token alone in the wide path (its unigram weight,
    and with char n-grams theirs, as that text's features weigh them; plus the bias), plus half
    of each bigram it is in."""
    assert network.ngrams is not None
    ids, present = network.ngram_ids(token_ids, lengths)
    column = network.ngrams.weight[:, label]
    time = token_ids.size(1)
    bigrams = column[ids[:, time : 2 * time - 1]] * present[:, time : 2 * time - 1]
    scores = column[ids[:, :time]] * present[:, :time]
    if network.config.char_ngrams:  # ngram_ids' last columns: each token's char n-grams
        per_token = (len(token_ids), time, network.config.char_ngram_slots)
        alone = torch.cat([ids[:, :time, None], ids[:, 2 * time - 1 :].view(per_token)], dim=-1)
        kept = torch.cat([present[:, :time, None], present[:, 2 * time - 1 :].view(per_token)], -1)
        weights = network.ngram_idf[alone] * kept
        weights = weights / weights.norm(dim=-1, keepdim=True).clamp(min=1e-12)
        scores = (weights * column[alone]).sum(dim=-1)
    scores[:, :-1] += bigrams / 2
    scores[:, 1:] += bigrams / 2
    return scores + network.heads.bias[label]


@torch.inference_mode()
def token_scores(
    network: ToxicityNet,
    encoder: TextEncoder,
    reads: Sequence[ReadText],
    settings: SpanSettings,
    batch_size: int,
) -> list[np.ndarray]:
    """A toxic score in [0, 1] per token of every text (sorted by length, padded per chunk)."""
    scores: list[np.ndarray] = [np.zeros(len(read.ids)) for read in reads]
    if settings.method == "none":
        return scores
    order = sorted(range(len(reads)), key=lambda i: len(reads[i].ids), reverse=True)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        token_ids, lengths = encoder.pad([reads[i].ids for i in chunk])
        if settings.method == "tagger":
            buckets, _ = encoder.pad([reads[i].word_buckets() for i in chunk])
            logits = network.span_logits(token_ids, lengths, buckets)
        else:
            logits = _wide_token_logits(network, token_ids, lengths, settings.label)
        values = torch.sigmoid(logits).numpy()
        for row, index in enumerate(chunk):
            scores[index] = values[row, : len(reads[index].ids)]
    return scores


def _read(encoder: TextEncoder, text: str, max_len: int) -> ReadText:
    """read_text, reading no further than the classifier (serving.max_chars may cut shorter)."""
    read = read_text(encoder, text[: encoder.max_chars], max_len)
    return replace(read, truncated=True) if len(text) > encoder.max_chars else read


def explain(
    network: ToxicityNet,
    encoder: TextEncoder,
    settings: SpanSettings,
    texts: Sequence[str],
    batch_size: int,
) -> list[dict[str, Any]]:
    """Per text: {"spans": [{start, end, text, score}], "words": [...same...], "truncated"}."""
    reads = [_read(encoder, text, settings.max_len) for text in texts]
    explanations = []
    for text, read, scores in zip(
        texts, reads, token_scores(network, encoder, reads, settings, batch_size), strict=True
    ):
        per_word = word_scores(read, scores.tolist())
        explanations.append(
            {
                "spans": [
                    _piece(text, start, end, score)
                    for start, end, score in toxic_ranges(
                        read.words, per_word, settings.threshold, settings.fallback
                    )
                ],
                "words": [
                    _piece(text, word.start, word.end, score)
                    for word, score in zip(read.words, per_word, strict=True)
                ],
                "truncated": read.truncated,
            }
        )
    return explanations


def _piece(text: str, start: int, end: int, score: float) -> dict[str, Any]:
    return {"start": start, "end": end, "text": text[start:end], "score": round(score, DECIMALS)}

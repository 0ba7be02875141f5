"""Toxic spans measured as SemEval-2021 Task 5: character F1 per post, averaged; a word lexicon."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toxic_mlops.data.download import load_sources
from toxic_mlops.errors import PipelineError

SPANS_COLUMN = "spans"
TEXT_COLUMN = "text"
# The lexicon's words: letters/digits, joined by inner apostrophes or asterisks ("don't", "f**k").
_LEXICON_WORD = re.compile(r"\w+(?:['’*]+\w+)*\**", re.UNICODE)


class SpanDataError(PipelineError, ValueError):
    """The span data is not a `spans, text` table of JSON offset lists."""


@dataclass(frozen=True)
class SpanPost:
    text: str
    offsets: frozenset[int]  # the characters marked toxic


def parse_span_posts(frame: pd.DataFrame, source: str) -> list[SpanPost]:
    """Posts of a SemEval-2021 Task 5 file (`spans` = JSON list of character offsets, `text`)."""
    missing = {SPANS_COLUMN, TEXT_COLUMN} - set(frame.columns)
    if missing:
        raise SpanDataError(
            f"{source}: span data needs columns {SPANS_COLUMN!r} and {TEXT_COLUMN!r}; "
            f"missing {sorted(missing)}, got {list(map(str, frame.columns))}"
        )
    posts = []
    for row, (spans, text) in enumerate(zip(frame[SPANS_COLUMN], frame[TEXT_COLUMN], strict=True)):
        try:
            offsets = json.loads(spans)
            if not isinstance(offsets, list) or not all(isinstance(i, int) for i in offsets):
                raise ValueError("not a list of integers")
        except (TypeError, ValueError) as error:
            raise SpanDataError(
                f"{source}: row {row}: spans must be a JSON list of character offsets, "
                f"got {str(spans)[:60]!r} ({error})"
            ) from error
        text = "" if pd.isna(text) else str(text)
        posts.append(SpanPost(text, frozenset(i for i in offsets if 0 <= i < len(text))))
    return posts


def holdout_split(count: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out) indices: a seeded permutation, the last `fraction` held out."""
    order = np.random.default_rng(seed).permutation(count)
    held = int(round(count * fraction))
    return np.sort(order[: count - held]), np.sort(order[count - held :])


def char_f1(predicted: Iterable[int], gold: Iterable[int]) -> float:
    """The task's F1 of one post: 1 when both are empty, 0 when only one is."""
    predicted, gold = set(predicted), set(gold)
    if not gold or not predicted:
        return float(not gold and not predicted)
    overlap = len(predicted & gold)
    return 2 * overlap / (len(predicted) + len(gold))


def post_f1s(predicted: Sequence[Iterable[int]], gold: Sequence[Iterable[int]]) -> np.ndarray:
    return np.array([char_f1(p, g) for p, g in zip(predicted, gold, strict=True)])


def bootstrap_interval(
    values: np.ndarray, seed: int = 0, rounds: int = 1000
) -> tuple[float, float]:
    """The 95% percentile bootstrap interval of the mean of per-post values."""
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (rounds, len(values)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def ranges_to_offsets(ranges: Iterable[tuple[int, int]]) -> set[int]:
    return {i for start, end in ranges for i in range(start, end)}


def _lexicon_words(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group().lower()) for m in _LEXICON_WORD.finditer(text)]


def _mostly_marked(start: int, end: int, offsets: frozenset[int]) -> bool:
    return 2 * sum(i in offsets for i in range(start, end)) > end - start


@dataclass(frozen=True)
class Lexicon:
    """The baseline: words marked toxic in at least `min_rate` of their `min_count`+ uses."""

    toxic_words: frozenset[str]

    @classmethod
    def learn(cls, posts: Sequence[SpanPost], min_rate: float = 0.4, min_count: int = 3) -> Lexicon:
        seen, marked = Counter(), Counter()
        for post in posts:
            for start, end, word in _lexicon_words(post.text):
                seen[word] += 1
                marked[word] += _mostly_marked(start, end, post.offsets)
        return cls(
            frozenset(w for w, n in seen.items() if n >= min_count and marked[w] / n >= min_rate)
        )

    def predict(self, text: str) -> set[int]:
        """Offsets of the lexicon's words; consecutive toxic words merged, as annotators mark."""
        ranges: list[tuple[int, int]] = []
        previous = False
        for start, end, word in _lexicon_words(text):
            toxic = word in self.toxic_words
            if toxic and previous:
                ranges[-1] = (ranges[-1][0], end)
            elif toxic:
                ranges.append((start, end))
            previous = toxic
        return ranges_to_offsets(ranges)


def load_span_posts(
    sources: Sequence[str], hashes: Sequence[str], cache_dir: Path
) -> list[SpanPost]:
    """The span data behind sources (paths or URLs, fetched, verified and cached like datasets)."""
    frame, files = load_sources(sources, hashes, cache_dir)
    return parse_span_posts(frame, ", ".join(f.source for f in files))


def _bold(text: str, ranges: Sequence[Sequence[int]]) -> str:
    """text with the ranges in **bold**, markdown-escaped, on one line."""
    parts, last = [], 0
    for start, end in ranges:
        parts += [_escape(text[last:start]), f"**{_escape(text[start:end])}**"]
        last = end
    return "".join([*parts, _escape(text[last:])])


def _escape(text: str) -> str:
    return re.sub(r"([\\*_`\[\]<>#|])", r"\\\1", re.sub(r"\s+", " ", text))


def card_section(report: Mapping[str, Any]) -> list[str]:
    """The model card's toxic-spans section, from the train run's span report."""
    low, high = report["char_f1_interval"]
    fallback = (
        "no fallback"
        if report.get("fallback") is None
        else f"best word of a post with none over it when >= {report['fallback']:.3f}"
    )
    lines = [
        "",
        "## Toxic spans (SemEval-2021 Task 5 character F1, held-out posts)",
        "",
        f"Served spans: **{report['method']}** (word threshold {report['threshold']:.3f}, "
        f"{fallback}; chosen on the training part). Held out: {report['posts_held_out']:,} posts "
        f"({report['empty_gold_share']:.1%} with no span marked); trained on "
        f"{report['posts_train']:,}.",
        "",
        "| spans from | char F1 |",
        "|---|---|",
        f"| {report['method']} (served) | {report['char_f1']:.4f} (95% CI {low:.4f}-{high:.4f}) |",
        f"| {report['alternative']} | {report['alternative_char_f1']:.4f} |",
        f"| word lexicon (same training part) | {report['lexicon_char_f1']:.4f} |",
        "",
        "Examples (predicted spans in bold; what raters marked below each):",
        "",
    ]
    for example in report["examples"]:
        lines += [
            f"- {_bold(example['text'], example['predicted'])}",
            f"  - marked: {_bold(example['text'], example['gold'])}",
        ]
    return lines

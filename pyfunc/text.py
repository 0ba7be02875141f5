"""Text normalisation shared by training and serving, so both see exactly the same strings.

In order: NFKC; HTML tags stripped and entities unescaped; invisible characters dropped,
look-alike letters and decorated letter forms folded (pyfunc/deobfuscation.py); URLs replaced;
lower-cased; spaced-out letters joined and leetspeak read as letters; runs of a character cut;
whitespace collapsed.
The de-obfuscation steps are off unless the settings ask for them, so a model logged before
they existed keeps its normaliser (the settings live in its model_config.json).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Protocol

from pyfunc.deobfuscation import (
    LEET_BY_LETTER,
    LEET_WORD,
    SPACED_LETTERS,
    any_mark,
    invisible_table,
    join_spaced,
    letter_form_table,
    lookalike_table,
    stray_marks,
    unleet,
)

_Pass = tuple[re.Pattern[str], Callable[[re.Match[str]], str], Callable[[str], bool]]


class WordReader(Protocol):
    """Reads disguised words back (pyfunc/respelling.py): passes of (pattern, rewrite of a
    match, whether a text may change), before leetspeak and last."""

    def masked_rewrites(self) -> list[_Pass]: ...

    def rewrites(self) -> list[_Pass]: ...


_HTML_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]{0,200}>")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")
URL_TOKEN = "xxurl"


@lru_cache(maxsize=8)
def _repeat_run(keep: int) -> re.Pattern[str]:
    return re.compile(rf"(.)\1{{{keep},}}")


@lru_cache(maxsize=8)
def _fold_table(
    drop_invisible: bool, fold_lookalikes: bool, fold_letter_forms: bool
) -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    if fold_letter_forms:
        table.update(letter_form_table())
    if fold_lookalikes:
        table.update(lookalike_table())
    if drop_invisible:
        table.update(invisible_table())
    return table


@dataclass(frozen=True)
class Normalizer:
    lowercase: bool = True
    strip_html: bool = True
    replace_urls: bool = True
    max_char_repeat: int = 3
    # Undoing what people do to slip a word past a filter (pyfunc/deobfuscation.py):
    drop_invisible: bool = False  # zero-width and format characters, stray combining marks
    fold_lookalikes: bool = False  # Cyrillic/Greek/... look-alikes and accented letters -> ASCII
    fold_letter_forms: bool = False  # small capitals, squared letters, regional indicators
    join_spaced_letters: bool = False  # "i d i o t", "i.d.i.o.t" -> "idiot"
    undo_leetspeak: bool = False  # "1d10t", "sh!t", "a$$" -> "idiot", "shit", "ass"

    @property
    def _folds(self) -> dict[int, str | None]:
        return _fold_table(self.drop_invisible, self.fold_lookalikes, self.fold_letter_forms)

    @classmethod
    def from_dict(cls, settings: dict[str, Any] | None) -> Normalizer:
        return cls(**(settings or {}))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __call__(self, text: str, reader: WordReader | None = None) -> str:
        """The normalised text; with a reader, disguised words read back (its two passes)."""
        # NFKC folds full-width and stylised letters (e.g. "ｉｄｉｏｔ") onto plain ones.
        text = unicodedata.normalize("NFKC", text)
        if self.strip_html:
            text = html.unescape(_HTML_TAG.sub(" ", text))
        # Every character the fold or the marks touch is non-ASCII: most comments skip both.
        if self._folds and not text.isascii():
            text = text.translate(self._folds)
        if self.drop_invisible and not text.isascii() and any_mark().search(text):
            text = stray_marks().sub("", text)
        if self.replace_urls:
            text = _URL.sub(f" {URL_TOKEN} ", text)
        if self.lowercase:
            text = text.lower()
        if self.join_spaced_letters:
            text = SPACED_LETTERS.sub(lambda m: join_spaced(m[0]), text)
        for pattern, rewrite, may_change in reader.masked_rewrites() if reader else ():
            text = pattern.sub(rewrite, text) if may_change(text) else text
        if self.undo_leetspeak and LEET_BY_LETTER.search(text):
            text = LEET_WORD.sub(lambda m: unleet(m[0]), text)
        if self.max_char_repeat > 0:
            # "stuuuuupid" and "stuuupid" should map to the same tokens.
            keep = self.max_char_repeat
            text = _repeat_run(keep).sub(lambda m: m.group(1) * keep, text)
        text = _WHITESPACE.sub(" ", text).strip()
        for pattern, rewrite, may_change in reader.rewrites() if reader else ():
            text = pattern.sub(rewrite, text) if may_change(text) else text
        return text

    def map(self, text: str, reader: WordReader | None = None) -> MappedText:
        """What __call__ returns, with the raw [start, end) of every character of it."""
        text, spans = _nfkc(text)
        if self.strip_html:
            text, spans = _substitute(text, spans, _HTML_TAG, _to(" "))
            text, spans = _substitute(
                text, spans, _CHARREF, lambda m, s: _to(html.unescape(m[0]))(m, s)
            )
        if self._folds and not text.isascii():
            text, spans = _translate(text, spans, self._folds)
        if self.drop_invisible and not text.isascii() and any_mark().search(text):
            text, spans = _substitute(text, spans, stray_marks(), _to(""))
        if self.replace_urls:
            text, spans = _substitute(text, spans, _URL, _to(f" {URL_TOKEN} "))
        if self.lowercase:
            text, spans = _lower(text, spans)
        if self.join_spaced_letters:
            text, spans = _substitute(text, spans, SPACED_LETTERS, _joined)
        for pattern, rewrite, may_change in reader.masked_rewrites() if reader else ():
            if may_change(text):
                text, spans = _substitute(text, spans, pattern, _rewritten(rewrite))
        if self.undo_leetspeak and LEET_BY_LETTER.search(text):
            text, spans = _substitute(text, spans, LEET_WORD, _same_length(unleet))
        if self.max_char_repeat > 0:
            text, spans = _substitute(text, spans, _repeat_run(self.max_char_repeat), self._squeeze)
        text, spans = _strip(*_substitute(text, spans, _WHITESPACE, _to(" ")))
        for pattern, rewrite, may_change in reader.rewrites() if reader else ():
            if may_change(text):
                text, spans = _substitute(text, spans, pattern, _rewritten(rewrite))
        return MappedText(text, tuple(spans))

    def _squeeze(self, run: re.Match[str], spans: list[Span]) -> tuple[str, list[Span]]:
        """Keep max_char_repeat of a run; the last kept character stands for the rest too."""
        keep = self.max_char_repeat
        return run[1] * keep, [*spans[: keep - 1], _merge(spans[keep - 1 :])]


# --- The same normalisation, keeping where every output character came from -------------------
# The plain __call__ above stays the fast path (training, scoring); `map` is for explanations,
# which must point back into the string the client sent. tests/unit/test_text_offsets.py checks
# that both give the same text.

Span = tuple[int, int]
# What html.unescape substitutes (Python's html._charref): each match unescaped on its own gives
# the same result as unescaping the whole string.
_CHARREF = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")


@dataclass(frozen=True)
class MappedText:
    """A normalised text and, per character of it, the [start, end) in the raw text it came from."""

    text: str
    spans: tuple[Span, ...]

    def source_span(self, start: int, end: int) -> Span:
        """The raw [start, end) that normalised characters [start, end) came from (end > start)."""
        covered = self.spans[start:end]
        return min(s for s, _ in covered), max(e for _, e in covered)


def _merge(spans: list[Span]) -> Span:
    return spans[0][0], spans[-1][1]


def _substitute(
    text: str,
    spans: list[Span],
    pattern: re.Pattern[str],
    replace: Callable[[re.Match[str], list[Span]], tuple[str, list[Span]]],
) -> tuple[str, list[Span]]:
    """pattern.sub over text, carrying spans: replace gets a match and its characters' spans."""
    parts: list[str] = []
    new_spans: list[Span] = []
    last = 0
    for match in pattern.finditer(text):
        parts.append(text[last : match.start()])
        new_spans.extend(spans[last : match.start()])
        replacement, replacement_spans = replace(match, spans[match.start() : match.end()])
        parts.append(replacement)
        new_spans.extend(replacement_spans)
        last = match.end()
    parts.append(text[last:])
    new_spans.extend(spans[last:])
    return "".join(parts), new_spans


def _to(replacement: str) -> Callable[[re.Match[str], list[Span]], tuple[str, list[Span]]]:
    """A replacement whose every character comes from the whole match."""
    return lambda _, spans: (replacement, [_merge(spans)] * len(replacement))


def _translate(
    text: str, spans: list[Span], table: dict[int, str | None]
) -> tuple[str, list[Span]]:
    """str.translate(table), each output character carrying its source character's span."""
    parts: list[str] = []
    new_spans: list[Span] = []
    for char, span in zip(text, spans, strict=True):
        replacement = table.get(ord(char), char)
        if replacement:
            parts.append(replacement)
            new_spans.extend([span] * len(replacement))
    return "".join(parts), new_spans


def _joined(match: re.Match[str], spans: list[Span]) -> tuple[str, list[Span]]:
    """Spaced-out letters joined: each letter keeps its span, the separators go."""
    kept = [i for i, char in enumerate(match[0]) if char.isalnum()]
    return join_spaced(match[0]), [spans[i] for i in kept]


def _rewritten(
    rewrite: Callable[[re.Match[str]], str],
) -> Callable[[re.Match[str], list[Span]], tuple[str, list[Span]]]:
    """A replacement by rewrite(match), as pattern.sub(rewrite) does; a changed match's
    characters all come from the whole raw text it replaced."""

    def replace(match: re.Match[str], spans: list[Span]) -> tuple[str, list[Span]]:
        new = rewrite(match)
        return (new, spans) if new == match[0] else _to(new)(match, spans)

    return replace


def _same_length(
    rewrite: Callable[[str], str],
) -> Callable[[re.Match[str], list[Span]], tuple[str, list[Span]]]:
    """A replacement that rewrites characters one for one: each keeps its span."""
    return lambda match, spans: (rewrite(match[0]), spans)


def _nfkc_groups(text: str) -> list[Span]:
    """Raw ranges that NFKC normalises independently: a base character with its combining marks,
    merged with the next range where composing across them differs (e.g. Hangul jamo)."""
    starts = [i for i, char in enumerate(text) if i == 0 or unicodedata.combining(char) == 0]
    groups = list(zip(starts, [*starts[1:], len(text)][: len(starts)], strict=True))
    merged: list[Span] = []
    for group in groups:
        if merged:
            before = text[merged[-1][0] : merged[-1][1]]
            this = text[group[0] : group[1]]
            nfkc = unicodedata.normalize
            if nfkc("NFKC", before + this) != nfkc("NFKC", before) + nfkc("NFKC", this):
                merged[-1] = (merged[-1][0], group[1])
                continue
        merged.append(group)
    return merged


def _nfkc(text: str) -> tuple[str, list[Span]]:
    groups = _nfkc_groups(text)
    parts = [unicodedata.normalize("NFKC", text[a:b]) for a, b in groups]
    if "".join(parts) != unicodedata.normalize("NFKC", text):
        groups, parts = [(0, len(text))], [unicodedata.normalize("NFKC", text)]  # coarse, exact
    return "".join(parts), [group for group, part in zip(groups, parts, strict=True) for _ in part]


def _lower(text: str, spans: list[Span]) -> tuple[str, list[Span]]:
    lowered = text.lower()
    # Per character, except where lowering depends on context (Greek final sigma: same length).
    pieces = [char.lower() for char in text]
    if sum(map(len, pieces)) != len(lowered):
        return lowered, [_merge(spans)] * len(lowered) if lowered else []
    return lowered, [span for span, piece in zip(spans, pieces, strict=True) for _ in piece]


def _strip(text: str, spans: list[Span]) -> tuple[str, list[Span]]:
    start, end = 0, len(text)
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return text[start:end], spans[start:end]

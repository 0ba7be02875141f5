"""The normaliser's character map: the same text as the fast path, spans exact into the raw text."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pyfunc.text import URL_TOKEN, Normalizer

ROOT = Path(__file__).resolve().parents[2]
TRICKY = [
    "",
    "   \n\t ",
    "You STUUUUUPID idiot!!!!",
    "café vs cafe\u0301 and n\u0303o\u0308\u0301 marks",  # precomposed, combining, stacked marks
    "😡😡 you 👍🏽 idiot 🇫🇷",  # astral code points, a skin tone, a flag
    "ＩＤＩＯＴ ﬁne ①②③ ℌello",  # full-width, a ligature, circled digits, a math letter
    "see https://example.com/a?b=1&c=2 or www.x.org/y then",
    "line one<br>line two<br/>three <b>bold</b> &amp; &lt;tag&gt; &ampx &#x41;&#66",
    "ΟΔΟΣ Σ ΣΑΣ İstanbul ẞtraße",  # final sigma, dotted I (lower-cases to two chars), sharp s
    "\u1100\u1161\u11a8 한국어 jamo",  # conjoining Hangul jamo compose across base characters
    "tab\tand\u00a0nbsp\u2003em\u200bzero width",
    "aaaaaaaa bbbb ccc !!!!!!!! 😡😡😡😡😡",
    "x" * 5000 + " idiot",
]
SETTINGS = [
    Normalizer(),
    Normalizer(lowercase=False, strip_html=False, replace_urls=False, max_char_repeat=0),
    Normalizer(max_char_repeat=1),
]


def sample_comments(rows: int) -> list[str]:
    path = ROOT / "data" / "jigsaw_wiki_sample.csv.gz"
    return pd.read_csv(path, nrows=rows)["comment_text"].tolist()


@pytest.mark.parametrize("normalizer", SETTINGS)
def test_map_gives_the_fast_paths_text(normalizer: Normalizer) -> None:
    for text in TRICKY + sample_comments(200):
        mapped = normalizer.map(text)
        assert mapped.text == normalizer(text), text[:80]
        assert len(mapped.spans) == len(mapped.text)


@pytest.mark.parametrize("text", TRICKY)
def test_spans_lie_in_the_raw_text_in_order(text: str) -> None:
    spans = Normalizer().map(text).spans
    assert all(0 <= start < end <= len(text) for start, end in spans)
    assert [s for s, _ in spans] == sorted(s for s, _ in spans)


def raw_of(text: str, word: str) -> str:
    """The raw text behind the first occurrence of word in the normalised text."""
    mapped = Normalizer().map(text)
    start = mapped.text.index(word)
    return text[slice(*mapped.source_span(start, start + len(word)))]


@pytest.mark.parametrize(
    ("text", "normalised", "raw"),
    [
        ("You STUUUUUPID idiot", "stuuupid", "STUUUUUPID"),
        ("ok 😡😡 idiot", "😡😡 idiot", "😡😡 idiot"),
        ("cafe\u0301 time", "café", "cafe\u0301"),
        ("the ＩＤＩＯＴ here", "idiot", "ＩＤＩＯＴ"),
        ("a ﬁne day", "fine", "ﬁne"),
        ("go to https://example.com/x?y=1 now", URL_TOKEN, "https://example.com/x?y=1"),
        ("one<br>two", "two", "two"),
        ("one<br>two", "one two", "one<br>two"),
        ("fish &amp; chips", "&", "&amp;"),
        ("ΟΔΟΣ", "οδος", "ΟΔΟΣ"),
        ("İstanbul", "i̇stanbul", "İstanbul"),
        ("  spaced   out  ", "spaced out", "spaced   out"),
        ("x" * 40 + " DUMB", "dumb", "DUMB"),
    ],
)
def test_a_normalised_word_maps_back_to_exactly_its_raw_text(
    text: str, normalised: str, raw: str
) -> None:
    assert raw_of(text, normalised) == raw

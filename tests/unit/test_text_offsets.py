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
    # what people do to a word to slip it past a filter
    "you are a total id\u200bi\u00ado\ufefft \u0456d\u0456\u043et \u00ecd\u00ec\u00f2t",
    "i d i o t, i.d.i.o.t, f-u-c-k, 1d10t, 1 d 1 0 t, sh!t, a$$hole, $hit, h3ll0",
    "z\u0337a\u0336l\u0338g\u0334o\ufe0f and \u202eevil\u202c &#8203;x",
    "4th 1st mp3 b2b covid19 @user wow!!! i'm a doctor",
    "ᴍᴏʀᴏɴ 🅸🅳🅸🅾🆃 🇮🇩🇮🇴🇹\u200b \u0442\u044b",
]
DEOBFUSCATE = Normalizer(
    drop_invisible=True,
    fold_lookalikes=True,
    fold_letter_forms=True,
    join_spaced_letters=True,
    undo_leetspeak=True,
)
SETTINGS = [
    Normalizer(),
    Normalizer(lowercase=False, strip_html=False, replace_urls=False, max_char_repeat=0),
    Normalizer(max_char_repeat=1),
    DEOBFUSCATE,
    Normalizer(lowercase=False, drop_invisible=True, fold_lookalikes=True),
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


@pytest.mark.parametrize("normalizer", [Normalizer(), DEOBFUSCATE])
@pytest.mark.parametrize("text", TRICKY)
def test_spans_lie_in_the_raw_text_in_order(text: str, normalizer: Normalizer) -> None:
    spans = normalizer.map(text).spans
    assert all(0 <= start < end <= len(text) for start, end in spans)
    assert [s for s, _ in spans] == sorted(s for s, _ in spans)


def raw_of(text: str, word: str, normalizer: Normalizer = SETTINGS[0]) -> str:
    """The raw text behind the first occurrence of word in the normalised text."""
    mapped = normalizer.map(text)
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


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("you are a total id\u200bi\u00adot!", "id\u200bi\u00adot"),
        ("you \u0456d\u0456\u043et", "\u0456d\u0456\u043et"),
        ("you i d i o t.", "i d i o t"),
        ("you i.d.i.o.t", "i.d.i.o.t"),
        ("you 1D10T", "1D10T"),
        # a mark belongs to its letter: the span takes it with it
        ("you i\u0337d\u0336i\u0338o\u0334t\u0335 ok", "i\u0337d\u0336i\u0338o\u0334t\u0335"),
    ],
)
def test_a_de_obfuscated_word_maps_back_to_what_the_client_sent(text: str, raw: str) -> None:
    assert raw_of(text, "idiot", DEOBFUSCATE) == raw

"""What people do to a word so that a filter misses it, undone: the tables and patterns.

pyfunc/text.py applies them (and carries every character's raw offsets through them). Each is
switched on by a Normalizer setting, so a model logged before they existed reads text as before.

- Invisible characters: Unicode format characters (category Cf: zero-width space and joiners,
  word joiner, BOM, soft hyphen, bidi controls, tags), variation selectors and the other
  default-ignorable code points, and combining marks stacked on a Latin letter ("zalgo").
- Look-alike letters: the Unicode confusables data (UTS #39) as the `confusable-homoglyphs`
  package ships it, for every non-ASCII character whose prototype is one ASCII letter or digit
  (Cyrillic "і", Greek "ο", ...), and Latin letters with diacritics ("ì") onto their base letter.
- Letter forms: the decorated letters of "fancy text" generators that NFKC leaves, each named by
  Unicode as a form of one Latin letter (small capitals "ᴍᴏʀᴏɴ", negative squared and circled
  letters, regional indicators "🇮🇩🇮🇴🇹"), and Cyrillic small letters printed as the small
  capital of a Latin look-alike ("т", "к", "м", "н", "в": their capitals fold to T, K, M, H, B).
- Spaced letters: three or more single letters or digits separated by the same separator
  ("i d i o t", "i.d.i.o.t", "f-u-c-k") joined into one word.
- Leetspeak: digits and symbols that stand for letters inside a word ("1d10t", "sh!t", "a$$").
"""

from __future__ import annotations

import itertools
import json
import re
import unicodedata
from functools import lru_cache
from importlib import resources

# Default-ignorable code points that are not format characters (Unicode's
# DerivedCoreProperties.txt): combining grapheme joiner, Hangul fillers, Khmer inherent vowels,
# Mongolian free variation selectors, variation selectors.
_IGNORABLE_RANGES = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xE0100, 0xE01EF),
)
# Characters that stand for a letter inside a word, and the letter.
LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
# Symbols that cannot be part of a number: a word may start or end with them and still be read.
_SYMBOLS = "@$"
# Separators of spaced-out letters; the same one must stand between every pair.
SPACED_LETTERS = re.compile(
    r"(?<![a-z0-9])[a-z0-9](?P<sep>[ .\-_*·•|/\\~+:,]{1,3})[a-z0-9](?![a-z0-9])"
    r"(?:(?P=sep)[a-z0-9](?![a-z0-9]))+"
)
ORDINAL = re.compile(r"[0-9]+(?:st|nd|rd|th|s)")  # "4th", "80s": numbers, never words
# A leetspeak character beside a letter: the only texts LEET_WORD can change.
LEET_BY_LETTER = re.compile(r"[a-z][013457@$]|[013457@$][a-z]|[a-z]![a-z]")
_LEET_RUN = re.compile("[" + re.escape("".join(LEET)) + "]+")
LEET_WORD = re.compile(
    r"(?<![a-z0-9@$!])(?=[a-z0-9@$!]*[a-z])(?=[a-z0-9@$!]*[" + re.escape("".join(LEET)) + r"])"
    r"[a-z0-9@$!]+"
)


def _is_combining(char: str) -> bool:
    return unicodedata.category(char) in ("Mn", "Me")


@lru_cache(maxsize=1)
def invisible_table() -> dict[int, None]:
    """str.translate table deleting format characters and the other default-ignorables."""
    # Every assigned format character lies below U+30000 or in the tags block at U+E0000.
    codes = [*range(0x30000), *range(0xE0000, 0xE1000)]
    table: dict[int, None] = {
        code: None for code in codes if unicodedata.category(chr(code)) == "Cf"
    }
    table.update({code: None for low, high in _IGNORABLE_RANGES for code in range(low, high + 1)})
    return table


@lru_cache(maxsize=1)
def _mark_class() -> str:
    """Every combining mark as a regex character class."""
    return char_class([code for code in range(0x300, 0x20000) if _is_combining(chr(code))])


@lru_cache(maxsize=1)
def symbols() -> frozenset[str]:
    """Unicode symbols (categories Sm, Sc, Sk, So: "^", "~", "|", "€", "♥", "★", emoji) and the
    punctuation that stands in for a letter ("?", "¡", "¿"); not the accents typed as an
    apostrophe ("´", "`"), and not "&" ("S&P", "C&P": abbreviations)."""
    found = {chr(code) for code in range(0x20000) if unicodedata.category(chr(code))[0] == "S"}
    return frozenset(found - {"´", "`"} | set("?¡¿"))


def char_class(codes: list[int]) -> str:
    """Sorted code points as a regex character class, in ranges (not thousands of single
    characters: 50x faster to match)."""
    ranges, start = [], codes[0]
    for previous, code in itertools.pairwise([*codes, -1]):
        if code != previous + 1:
            ranges.append(f"{re.escape(chr(start))}-{re.escape(chr(previous))}")
            start = code
    return f"[{''.join(ranges)}]"


@lru_cache(maxsize=1)
def any_mark() -> re.Pattern[str]:
    """A combining mark anywhere: the cheap first look before stray_marks()."""
    return re.compile(_mark_class())


@lru_cache(maxsize=1)
def stray_marks() -> re.Pattern[str]:
    """Combining marks after a Latin letter or an ASCII character (NFKC has composed what has a
    precomposed form, so what is left is decoration)."""
    return re.compile(rf"(?<=[\x00-\x7f\u00c0-\u024f\u1e00-\u1eff]){_mark_class()}+")


def _confusables() -> dict[str, list[dict[str, str]]]:
    data = resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text()
    return json.loads(data)


@lru_cache(maxsize=1)
def lookalike_table() -> dict[int, str]:
    """str.translate table: non-ASCII look-alikes of ASCII letters and digits onto them."""
    table: dict[int, str] = {}
    for char, glyphs in _confusables().items():
        if len(char) != 1 or char.isascii() or unicodedata.normalize("NFKC", char) != char:
            continue
        targets = sorted(
            {g["c"] for g in glyphs if len(g["c"]) == 1 and g["c"].isascii() and g["c"].isalnum()}
        )
        letters = [t for t in targets if t.isalpha()] or targets
        if letters:
            # UTS #39 gives "l" as the prototype of every vertical stroke; a capital is an "I".
            upper = unicodedata.category(char) == "Lu"
            table[ord(char)] = "I" if letters[0] == "l" and upper else letters[0]
    for code in range(0xC0, 0x2000):  # Latin letters with diacritics: their base letter
        base = unicodedata.normalize("NFD", chr(code))
        if len(base) > 1 and base[0].isascii() and base[0].isalpha():
            if all(_is_combining(mark) for mark in base[1:]):
                table.setdefault(code, base[0])
    return table


# Unicode names of one Latin letter's decorated forms, the letter captured.
_LETTER_FORM = re.compile(
    r"LATIN LETTER SMALL CAPITAL ([A-Z])|(?:NEGATIVE )?(?:SQUARED|CIRCLED) LATIN CAPITAL LETTER"
    r" ([A-Z])|REGIONAL INDICATOR SYMBOL LETTER ([A-Z])"
)
_CYRILLIC_SMALL = range(0x430, 0x460)


@lru_cache(maxsize=1)
def letter_form_table() -> dict[int, str]:
    """str.translate table: decorated letters (see the module) onto their lower-case letter."""
    table: dict[int, str] = {}
    # From IPA Extensions (small capitals) to the Enclosed Alphanumeric Supplement (squares,
    # regional indicators); what NFKC folds never reaches the table.
    for code in range(0x250, 0x1F200):
        found = _LETTER_FORM.fullmatch(unicodedata.name(chr(code), ""))
        if found and unicodedata.normalize("NFKC", chr(code)) == chr(code):
            table[code] = next(letter for letter in found.groups() if letter).lower()
    lookalikes = lookalike_table()
    for code in _CYRILLIC_SMALL:
        capital = lookalikes.get(ord(chr(code).upper()), "")
        if code not in lookalikes and capital.isupper():
            table[code] = capital.lower()
    return table


def join_spaced(word: str) -> str:
    """'i d i o t' -> 'idiot': the letters of a SPACED_LETTERS match."""
    return "".join(char for char in word if char.isalnum())


def unleet(word: str) -> str:
    """A word's leetspeak read as letters: a run of LEET characters between letters always; at
    the start or the end of the word when it holds a symbol ('$hit', 'a$$'), or when the word
    is 4+ characters that read as 3+ letters and is no ordinal ('1d10t', '5h17', 'h3ll0'), so
    '4th', '10th', 'mp3', '10x' and 'b2b' stay; never a leading '@' (a mention) nor a trailing
    '!' (punctuation)."""
    chars = list(word)
    edges = []
    for run in _LEET_RUN.finditer(word):
        start, end = run.span()
        before = word[start - 1].isalpha() if start > 0 else None
        after = word[end].isalpha() if end < len(word) else None
        if before and after:
            chars[start:end] = [LEET[char] for char in run[0]]
        elif (before is None and after and "@" not in run[0]) or (
            before and after is None and "!" not in run[0]
        ):
            edges.append(run)
    readable = (
        len(word) >= 4
        and not ORDINAL.fullmatch(word)
        and sum(c.isalpha() or c in LEET for c in chars) >= 3
    )
    for run in edges:
        if readable or set(_SYMBOLS) & set(run[0]):
            chars[run.start() : run.end()] = [LEET[char] for char in run[0]]
    return "".join(chars)

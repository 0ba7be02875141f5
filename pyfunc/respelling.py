"""Disguised toxic words read back: one edit away from a word the model knows as toxic-looking.

The normaliser undoes what has an exact inverse (pyfunc/deobfuscation.py). A letter masked by a
symbol, two letters swapped, one dropped, one added, a letter held or a dot inside the word have
none: "f*ck", "stpuid", "idot", "idiiot", "idiiiiot", "id.iot". They are read back here when the
word is not one the tokenizer knows as a whole word and is one such edit from a word of the
model's lexicon (its training split's most toxic-looking words, kept in model_config.json). A
letter swapped for another letter is never read back, since that is how real words differ
("idiom" and "Moran" stay as they are).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence

# Symbols that stand for a letter someone masked (after the normaliser read leetspeak).
WILDCARDS = "*#%_"
# A word: letters and masks, maybe one dot or hyphen inside ("id.iot", "f-ck").
WORD = re.compile(
    rf"(?<![\w{WILDCARDS}@$])[a-z{WILDCARDS}]+(?:[.\-][a-z{WILDCARDS}]+)?(?![\w{WILDCARDS}@$])"
)
_RUN = re.compile(r"([a-z])\1+")
MIN_LENGTH = 4  # shorter words are too close to too many others
MAX_RUNS = 3  # held letters whose 1- and 2-letter readings are tried
CACHE_WORDS = 200_000  # words remembered before the memo starts again (bounded memory)


def known_words(vocabulary: Iterable[str], word_start: str = "▁") -> frozenset[str]:
    """The whole words of a sub-word vocabulary (its tokens that start a word and are letters)."""
    return frozenset(
        token[len(word_start) :]
        for token in vocabulary
        if token.startswith(word_start) and token[len(word_start) :].isalpha()
    )


class Respeller:
    """Reads disguised words back to the lexicon word they are one edit from (see the module)."""

    def __init__(self, lexicon: Sequence[str], known: frozenset[str]) -> None:
        self.lexicon = [w for w in lexicon if len(w) >= MIN_LENGTH]  # most toxic first
        self.words = set(self.lexicon)
        self.known = known
        self.dropped: dict[str, str] = {}  # a lexicon word with one letter left out -> the word
        for word in self.lexicon:
            for at in range(len(word)):
                self.dropped.setdefault(word[:at] + word[at + 1 :], word)
        self._read: dict[str, str] = {}

    def word(self, word: str) -> str:
        """The lexicon word `word` disguises, or `word` itself."""
        if word not in self._read:
            if len(self._read) >= CACHE_WORDS:
                self._read.clear()
            self._read[word] = self._lookup(word) or word
        return self._read[word]

    def __call__(self, text: str) -> str:
        return WORD.sub(lambda match: self.word(match[0]), text)

    def _lookup(self, word: str) -> str | None:
        letters = word.replace(".", "").replace("-", "")
        if len(letters) < MIN_LENGTH or letters in self.known or sum(c.isalpha() for c in word) < 2:
            return None
        for form in _held_readings(word):
            if found := self._one_edit(form):
                return found
        return None

    def _one_edit(self, form: str) -> str | None:
        if any(c in WILDCARDS for c in form):
            return self._masked(form)
        if form in self.words:
            return form
        if form in self.dropped:  # a letter left out
            return self.dropped[form]
        edits = [form[:at] + form[at + 1 :] for at in range(len(form))]  # one added
        edits += [  # two neighbours swapped
            form[:at] + form[at + 1] + form[at] + form[at + 2 :] for at in range(len(form) - 1)
        ]
        found = [edit for edit in edits if edit in self.words]
        return min(found, key=self.lexicon.index) if found else None

    def _masked(self, form: str) -> str | None:
        """The most toxic lexicon word that the unmasked letters spell (a mask: any letter)."""
        form = form.replace(".", "").replace("-", "")
        pattern = re.compile("".join("[a-z]" if c in WILDCARDS else re.escape(c) for c in form))
        return next((w for w in self.lexicon if pattern.fullmatch(w)), None)


def _held_readings(word: str) -> list[str]:
    """The word, then each run of a held letter read as one letter or two ("idiiiot")."""
    runs = list(_RUN.finditer(word))[:MAX_RUNS]
    readings = [word]
    for lengths in itertools.product((1, 2), repeat=len(runs)):
        parts, last = [], 0
        for run, length in zip(runs, lengths, strict=True):
            parts += [word[last : run.start()], run[1] * min(length, len(run[0]))]
            last = run.end()
        reading = "".join([*parts, word[last:]])
        if reading not in readings:
            readings.append(reading)
    return readings

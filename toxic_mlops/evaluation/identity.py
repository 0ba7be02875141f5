"""Identity mentions in raw text: a configurable term list matched on whole words, plural or not."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from pyfunc.text import Normalizer


def flat_terms(groups: Mapping[str, Sequence[str]]) -> list[str]:
    """Every term once, in the order the groups list them."""
    return list(dict.fromkeys(term for terms in groups.values() for term in terms))


def term_key(term: str, normalizer: Normalizer) -> str:
    """A term as the normaliser writes it, words joined by one space."""
    return " ".join(normalizer(term).replace("-", " ").split())


class TermMatcher:
    """Finds (and can replace) identity terms in raw text, read as the model's normaliser writes it.

    A whole word, or with a plural "s"/"es": "muslims" is "muslim", "blackboard" is not "black",
    "anti-gay" mentions "gay"; "African-American" and "african  american" are one term.
    """

    def __init__(self, terms: Sequence[str], normalizer: Normalizer) -> None:
        self.terms = list(terms)
        self.normalizer = normalizer
        self._index = {term_key(term, normalizer): index for index, term in enumerate(terms)}
        # Longest first, so "african american" is one mention, not "african" and a word.
        alternatives = [
            r"[\s-]+".join(map(re.escape, key.split()))
            for key in sorted(self._index, key=len, reverse=True)
        ]
        # No terms: a pattern that never matches (an empty alternation would match everywhere).
        words = "|".join(alternatives) or "(?!)"
        self._pattern = re.compile(rf"(?<!\w)({words})(e?s)?(?!\w)")

    def _term_index(self, match: re.Match[str]) -> int:
        return self._index[" ".join(match[1].replace("-", " ").split())]

    def find(self, text: str) -> set[int]:
        """Indices (in terms) of the terms the text mentions."""
        return {self._term_index(m) for m in self._pattern.finditer(self.normalizer(text))}

    def replace(self, text: str, replacement: Mapping[int, str]) -> str:
        """The normalised text, each term whose index is in replacement swapped (plural kept;
        an empty replacement deletes the term, plural and all)."""

        def swap(match: re.Match[str]) -> str:
            index = self._term_index(match)
            if index not in replacement:
                return match[0]
            return replacement[index] + (match[2] or "") if replacement[index] else ""

        return self._pattern.sub(swap, self.normalizer(text))

    def mentions(self, texts: Sequence[str]) -> pd.DataFrame:
        """[texts, terms] booleans: does the text mention the term."""
        table = np.zeros((len(texts), len(self.terms)), dtype=bool)
        for row, text in enumerate(texts):
            table[row, list(self.find(text))] = True
        return pd.DataFrame(table, columns=self.terms)


def identity_mentions(
    texts: Sequence[str], terms: Sequence[str], normalizer: Normalizer
) -> pd.DataFrame:
    """[texts, terms] booleans: does the raw text mention the term."""
    return TermMatcher(terms, normalizer).mentions(texts)

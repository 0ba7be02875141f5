"""Obfuscated copies of training rows, so the model reads words people disguise.

The normaliser undoes what can be undone exactly (invisible characters, look-alike letters,
spaced-out letters, leetspeak: pyfunc/deobfuscation.py). What it cannot undo (a letter masked
by "*", two letters swapped, one dropped, one repeated, a separator inside a word) the model has
to learn, as Kurita et al. 2019 ("Towards Robust Toxic Content Classification") did: a share of
the training rows, toxic and not alike, is copied with its words disguised, the toxic-looking
words (a lexicon from the training split's own labels) far more often than the rest, so that
"disguised" does not itself become a sign of toxicity.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

import numpy as np
import pandas as pd

from toxic_mlops.config import Config, RobustnessConfig
from toxic_mlops.data.dataset import TEXT
from toxic_mlops.evaluation.evasion import toxic_lexicon

WORD = re.compile(r"[a-z]{3,}")  # words of normalised (lower-cased) text
LETTERS = re.compile(r"[a-z]+")
MASKS = "*#%_"
SEPARATORS = " .-_*"
VOWELS = "aeiou"


def _interior(word: str, rng: np.random.Generator) -> int:
    """A position that is neither the first nor the last letter."""
    return int(rng.integers(1, len(word) - 1))


def _mask(word: str, rng: np.random.Generator) -> str:
    vowels = [i for i, c in enumerate(word[1:-1], 1) if c in VOWELS]
    at = int(rng.choice(vowels)) if vowels else _interior(word, rng)
    return word[:at] + str(rng.choice(list(MASKS))) + word[at + 1 :]


def _swap(word: str, rng: np.random.Generator) -> str:
    at = int(rng.integers(1, max(len(word) - 2, 2)))
    return word[:at] + word[at + 1] + word[at] + word[at + 2 :]


def _repeat(word: str, rng: np.random.Generator) -> str:
    at = int(rng.integers(0, len(word)))
    return word[:at] + word[at] * int(rng.integers(2, 5)) + word[at + 1 :]


def _delete(word: str, rng: np.random.Generator) -> str:
    at = _interior(word, rng)
    return word[:at] + word[at + 1 :]


def _split(word: str, rng: np.random.Generator) -> str:
    at = _interior(word, rng)
    return word[:at] + str(rng.choice(list(SEPARATORS))) + word[at:]


FAMILIES: dict[str, Callable[[str, np.random.Generator], str]] = {
    "mask": _mask,
    "swap": _swap,
    "repeat": _repeat,
    "delete": _delete,
    "split": _split,
}


def obfuscate(
    text: str, lexicon: frozenset[str], settings: RobustnessConfig, rng: np.random.Generator
) -> str:
    """text (normalised) with lexicon words disguised at word_rate, the others at other_rate."""
    families = [FAMILIES[name] for name in settings.families]

    def disguise(match: re.Match[str]) -> str:
        word = match[0]
        rate = settings.word_rate if word in lexicon else settings.other_rate
        if rng.random() >= rate:
            return word
        return families[int(rng.integers(len(families)))](word, rng)

    return WORD.sub(disguise, text)


def training_words(train: pd.DataFrame, config: Config) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(lexicon, commonest) of the training split: its most toxic-looking words (first label),
    most toxic first, and its `robustness.frequent_words` commonest words, commonest first
    (the reader's frequency ranks, pyfunc/respelling.py); ((), ()) when the config neither
    reads disguises back nor copies rows."""
    settings, dataset = config.robustness, config.dataset
    if not settings.respell and settings.copies <= 0:
        return (), ()
    texts = [config.normalization(text) for text in train[TEXT]]
    toxic = train[dataset.label_columns[0]].fillna(0).to_numpy() >= dataset.positive_threshold
    return toxic_lexicon(texts, toxic, settings.lexicon_size), commonest(
        texts, settings.frequent_words
    )


def commonest(texts: list[str], size: int) -> tuple[str, ...]:
    """The `size` words (letters only) that occur most often in texts, commonest first."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(LETTERS.findall(text))
    return tuple(word for word, _ in sorted(counts.items(), key=lambda c: (-c[1], c[0]))[:size])


def augmented(train: pd.DataFrame, config: Config, lexicon: tuple[str, ...]) -> pd.DataFrame:
    """train plus disguised copies of a `robustness.copies` share of its rows (labels kept)."""
    settings = config.robustness
    if settings.copies <= 0:
        return train
    rng = np.random.default_rng(config.training.seed)
    count = round(settings.copies * len(train))
    chosen = np.sort(rng.choice(len(train), size=count, replace=False))
    copies = train.iloc[chosen].copy()
    words = frozenset(lexicon)
    copies[TEXT] = [
        obfuscate(config.normalization(train[TEXT].iloc[i]), words, settings, rng) for i in chosen
    ]
    return pd.concat([train, copies], ignore_index=True)

"""Evasion: toxic comments with their toxic words disguised, as an adversarial user writes them.

Written apart from the training noise (toxic_mlops/model/obfuscation.py) and wider than it, so
the figures do not grade the model on the very edits it was trained on: the families the
normaliser undoes (invisible characters, look-alikes, fancy letter forms, spacing, leetspeak),
those it must learn (masking, swaps, repeats, deletions, a separator inside the word, letters
misread as their look-alikes), and mixes of them. Seeded.

Per family, on the toxic comments that hold a toxic-looking word (a lexicon from the training
split, bench/quality/evasion.py and the evaluate step alike): ROC-AUC of the disguised comments
against the clean non-toxic ones, beside the same comments undisguised; the share still flagged at
the label's threshold; and the false positives of the non-toxic comments with a fifth of their
words disguised the same way, beside the same comments clean.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from toxic_mlops.evaluation.metrics import known_truth

ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\ufeff", "\u2060")
CYRILLIC = {
    "a": "\u0430", "c": "\u0441", "e": "\u0435", "i": "\u0456", "o": "\u043e", "p": "\u0440",
    "x": "\u0445", "y": "\u0443", "s": "\u0455", "j": "\u0458", "h": "\u04bb", "d": "\u0501",
}  # fmt: skip
LEET = {"a": "4@", "e": "3", "i": "1!", "o": "0", "s": "5$", "t": "7", "g": "9", "b": "8"}
# What a scan or a hurried eye reads for a letter (digits included). Most pairs are also the
# reader's look-alikes (pyfunc/respelling.py), so nlpaug's OCR table is the more independent check.
MISREAD = {
    "o": "0u", "u": "ov", "l": "1i", "i": "l1", "s": "58", "b": "6h", "g": "9q", "e": "c",
    "c": "e", "m": "n", "n": "m", "r": "k", "k": "r", "z": "2", "d": "o", "h": "b",
}  # fmt: skip
COMBINING = tuple(chr(c) for c in range(0x0300, 0x0370))
# The a-z of "fancy text" generators, as they write them (their tables, not the normaliser's):
# small capitals (q and x have none: "ǫ" and "x"), negative squared and negative circled
# letters, regional indicators, mathematical bold.
FANCY_ALPHABETS = (
    "ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘǫʀꜱᴛᴜᴠᴡxʏᴢ",
    *("".join(chr(a + i) for i in range(26)) for a in (0x1F170, 0x1F150, 0x1F1E6, 0x1D41A)),
)
# Symbols that mask a letter beyond the usual "*" and "@#%$": grawlix, look-alike punctuation,
# hearts, stars and emoji.
OTHER_MASKS = ("^", "&", "~", "¡", "|", "€", "♥", "★", "🤬", "💩")
WORD = re.compile(r"[A-Za-z]{3,}")
CLEAN_RATE = 0.2  # share of a non-toxic comment's words disguised for the false-positive check
Attack = Callable[[str, np.random.Generator], str]


def _at(word: str, rng: np.random.Generator) -> int:
    return int(rng.integers(1, len(word) - 1))


def _insert(chars: str) -> Attack:
    def attack(word: str, rng: np.random.Generator) -> str:
        at = _at(word, rng)
        return word[:at] + str(rng.choice(list(chars))) + word[at:]

    return attack


def _homoglyph(word: str, rng: np.random.Generator) -> str:
    swapped = "".join(CYRILLIC.get(c, c) if rng.random() < 0.8 else c for c in word)
    return swapped if swapped != word else "".join(CYRILLIC.get(c, c) for c in word)


def _leet(word: str, rng: np.random.Generator) -> str:
    options = [i for i, c in enumerate(word) if c.lower() in LEET]
    if not options:
        return word
    chosen = {i for i in options if rng.random() < 0.7} or {int(rng.choice(options))}
    return "".join(
        str(rng.choice(list(LEET[c.lower()]))) if i in chosen else c for i, c in enumerate(word)
    )


def _misread(word: str, rng: np.random.Generator) -> str:
    """Two letters (one in a short word) replaced by what they could be misread as."""
    options = [i for i, c in enumerate(word) if c.lower() in MISREAD]
    count = min(len(options), 2 if len(word) >= 4 else 1)
    chosen = set(rng.choice(options, size=count, replace=False).tolist()) if count else set()
    return "".join(
        str(rng.choice(list(MISREAD[c.lower()]))) if i in chosen else c for i, c in enumerate(word)
    )


def _mask(symbols: str) -> Attack:
    def attack(word: str, rng: np.random.Generator) -> str:
        vowels = [i for i in range(1, len(word) - 1) if word[i].lower() in "aeiou"]
        at = int(rng.choice(vowels)) if vowels else _at(word, rng)
        return word[:at] + str(rng.choice(list(symbols))) + word[at + 1 :]

    return attack


def _swap(word: str, rng: np.random.Generator) -> str:
    at = int(rng.integers(1, max(len(word) - 2, 2)))
    return word[:at] + word[at + 1] + word[at] + word[at + 2 :]


def _tripled(word: str, rng: np.random.Generator) -> str:
    at = int(rng.integers(0, len(word)))
    return word[:at] + word[at] * 3 + word[at + 1 :]


def _deleted(word: str, rng: np.random.Generator) -> str:
    at = _at(word, rng)
    return word[:at] + word[at + 1 :]


def _letter_forms(word: str, rng: np.random.Generator) -> str:
    """The whole word in one fancy alphabet."""
    alphabet = FANCY_ALPHABETS[int(rng.integers(len(FANCY_ALPHABETS)))]
    return "".join(alphabet[ord(c) - ord("a")] if "a" <= c <= "z" else c for c in word.lower())


def _zalgo(word: str, rng: np.random.Generator) -> str:
    return "".join(c + "".join(rng.choice(COMBINING, size=2)) for c in word)


FAMILIES: dict[str, Attack] = {
    "zero_width": _insert("".join(ZERO_WIDTH)),
    "soft_hyphen": _insert("\u00ad"),
    "homoglyph": _homoglyph,
    "leetspeak": _leet,
    "spaced": lambda word, rng: " ".join(word),
    "dotted": lambda word, rng: ".".join(word),
    "masked_star": _mask("*"),
    "masked_symbol": _mask("@#%$"),
    "swap": _swap,
    "tripled": _tripled,
    "deleted": _deleted,
    "zalgo": _zalgo,
    "split": _insert(" .-"),
}


def stacked(*attacks: Attack) -> Attack:
    """Several disguises on the same word, in order: what one normalisation step may miss."""

    def attack(word: str, rng: np.random.Generator) -> str:
        for part in attacks:
            word = part(word, rng)
        return word

    return attack


FAMILIES |= {
    "mixed_unicode": stacked(_homoglyph, FAMILIES["zero_width"]),
    "mixed_leet_mask": stacked(_leet, FAMILIES["masked_star"]),
    "mixed_swap_invisible": stacked(_swap, FAMILIES["soft_hyphen"]),
    "misread": _misread,  # added last, as the next: the families before keep their seeds
    "letter_forms": _letter_forms,
    "masked_other": _mask("".join(OTHER_MASKS)),
    "masked_dot": _mask(".-"),  # "f.ck", "sh-t"
}


def attack_text(
    text: str, targets: frozenset[str], attack: Attack, rng: np.random.Generator, rate: float = 1.0
) -> str:
    """text with each word whose lower case is in targets (or, with no targets, each word of 3+
    letters at `rate`) disguised by attack; everything else as it was."""

    def rewrite(match: re.Match[str]) -> str:
        word = match[0]
        hit = word.lower() in targets if targets else rng.random() < rate
        return attack(word, rng) if hit else word

    return WORD.sub(rewrite, text)


def toxic_lexicon(
    texts: Sequence[str], toxic: np.ndarray, size: int, min_count: int = 3, min_log_odds: float = 1
) -> tuple[str, ...]:
    """The `size` words (3+ letters, lower-cased) most over-represented in toxic rows: smoothed
    log-odds of appearing in a toxic row against a clean one, at least min_log_odds (e times as
    likely by default, so no common word slips in), in >= min_count toxic rows; most toxic
    first."""
    in_toxic: Counter[str] = Counter()
    in_clean: Counter[str] = Counter()
    for text, is_toxic in zip(texts, toxic, strict=True):
        (in_toxic if is_toxic else in_clean).update(set(WORD.findall(text.lower())))
    toxic_rows, clean_rows = max(int(toxic.sum()), 1), max(int((~toxic).sum()), 1)

    def log_odds(word: str) -> float:
        return math.log((in_toxic[word] + 0.5) / toxic_rows) - math.log(
            (in_clean[word] + 0.5) / clean_rows
        )

    candidates = [
        w for w, count in in_toxic.items() if count >= min_count and log_odds(w) >= min_log_odds
    ]
    return tuple(sorted(candidates, key=lambda w: (-log_odds(w), w))[:size])


def attackable(text: str, lexicon: frozenset[str]) -> bool:
    return any(word.lower() in lexicon for word in WORD.findall(text))


@dataclass(frozen=True)
class AttackSet:
    """The test comments an evasion check scores: toxic ones holding a lexicon word, the clean
    ones, and per family both disguised."""

    toxic: list[str]
    negatives: list[str]
    attacked: dict[str, tuple[list[str], list[str]]]  # family -> (toxic, negatives) disguised

    @classmethod
    def build(
        cls,
        texts: Sequence[str],
        targets: np.ndarray,
        positive_threshold: float,
        lexicon: Sequence[str],
        families: Mapping[str, Attack],
        max_negatives: int | None = None,
    ) -> AttackSet:
        """From a split's texts and first-label targets; families seeded by their order."""
        lexicon = frozenset(lexicon)
        rows, truth = known_truth(targets, 0, positive_threshold)
        known = [str(texts[i]) for i in np.flatnonzero(rows)]
        toxic = [t for t, is_toxic in zip(known, truth, strict=True) if is_toxic]
        toxic = [t for t in toxic if attackable(t, lexicon)]
        negatives = [t for t, is_toxic in zip(known, truth, strict=True) if not is_toxic]
        negatives = negatives[:max_negatives] if max_negatives else negatives
        attacked = {}
        for index, (family, attack) in enumerate(families.items()):
            rng = np.random.default_rng(1000 + index)
            attacked[family] = (
                [attack_text(t, lexicon, attack, rng) for t in toxic],
                [attack_text(t, frozenset(), attack, rng, CLEAN_RATE) for t in negatives],
            )
        return cls(toxic, negatives, attacked)


def roc_auc(positives: np.ndarray, negatives: np.ndarray) -> float:
    """ROC-AUC of positives against negatives from ranks (ties count half)."""
    scores = np.r_[positives, negatives]
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    # the average rank of each distinct score, 1-based
    average = np.cumsum(counts) - (counts - 1) / 2
    ranks = average[inverse]
    pos = len(positives)
    return float((ranks[:pos].sum() - pos * (pos + 1) / 2) / (pos * len(negatives)))


@dataclass(frozen=True)
class Scored:
    """One scorer's first-label scores of an AttackSet."""

    toxic: np.ndarray
    negatives: np.ndarray
    attacked: dict[str, tuple[np.ndarray, np.ndarray]]  # family -> (toxic, negatives)

    @classmethod
    def of(cls, predict: Callable[[list[str]], np.ndarray], attacks: AttackSet) -> Scored:
        return cls(
            predict(attacks.toxic),
            predict(attacks.negatives),
            {
                family: (predict(toxic), predict(negatives))
                for family, (toxic, negatives) in attacks.attacked.items()
            },
        )

    def figures(self, threshold: float) -> dict[str, float]:
        """`clean_*` and `<family>_*`: auc, flagged (share of toxic at the threshold),
        retained (flagged / clean flagged) and fp (share of non-toxic at the threshold)."""
        clean_flagged = float((self.toxic >= threshold).mean())
        figures = {
            "clean_auc": roc_auc(self.toxic, self.negatives),
            "clean_flagged": clean_flagged,
            "clean_fp": float((self.negatives >= threshold).mean()),
        }
        for family, (toxic, negatives) in self.attacked.items():
            flagged = float((toxic >= threshold).mean())
            figures |= {
                f"{family}_auc": roc_auc(toxic, self.negatives),
                f"{family}_flagged": flagged,
                f"{family}_retained": flagged / clean_flagged if clean_flagged else float("nan"),
                f"{family}_fp": float((negatives >= threshold).mean()),
            }
        return figures

"""Distribution-shift statistics: pure functions on arrays, shared by validation and monitoring."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

# Keeps empty bins finite in PSI; the usual choice, small against any real bin share.
EPSILON = 1e-4


def psi(reference: Sequence[float], current: Sequence[float], bins: int = 10) -> float:
    """Population stability index of current against reference, on reference-quantile bins.

    Rule of thumb: < 0.1 no shift, 0.1-0.25 moderate, > 0.25 large.
    """
    return _psi_and_bins(reference, current, bins)[0]


def psi_beyond_chance(
    reference: Sequence[float], current: Sequence[float], bins: int = 10
) -> float:
    """psi less what two samples of one distribution show by chance, never below 0.

    PSI is about a chi-square statistic over the two sample sizes n and m, whose mean with
    nothing shifted is (bins - 1)(1/n + 1/m): 0.09 for a batch of 300 against a test split of
    160 (where a same-source batch read 0.27: quantile bins cut from 160 values are noisy
    themselves), under 0.01 for 1,000 against 20,000.
    """
    value, used_bins = _psi_and_bins(reference, current, bins)
    chance = (used_bins - 1) * (1 / len(reference) + 1 / len(current))
    return max(value - chance, 0.0)


def _psi_and_bins(
    reference: Sequence[float], current: Sequence[float], bins: int
) -> tuple[float, int]:
    reference, current = np.asarray(reference, float), np.asarray(current, float)
    if not len(reference) or not len(current):
        raise ValueError("PSI needs values on both sides")
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    expected = np.bincount(
        np.searchsorted(edges, reference, side="right"), minlength=len(edges) + 1
    )
    actual = np.bincount(np.searchsorted(edges, current, side="right"), minlength=len(edges) + 1)
    expected = np.clip(expected / expected.sum(), EPSILON, None)
    actual = np.clip(actual / actual.sum(), EPSILON, None)
    return float(np.sum((actual - expected) * np.log(actual / expected))), len(edges) + 1


def js_divergence(reference: Counter, current: Counter) -> float:
    """Jensen-Shannon divergence (base 2, so in [0, 1]) between two token-count distributions."""
    keys = sorted(set(reference) | set(current))
    p = np.array([reference.get(k, 0) for k in keys], float)
    q = np.array([current.get(k, 0) for k in keys], float)
    if not p.sum() or not q.sum():
        raise ValueError("JS divergence needs tokens on both sides")
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        nonzero = a > 0
        return float(np.sum(a[nonzero] * np.log2(a[nonzero] / m[nonzero])))

    return (kl(p) + kl(q)) / 2


def token_counts(sequences: Iterable[Sequence[int]]) -> Counter:
    counts: Counter = Counter()
    for sequence in sequences:
        counts.update(sequence)
    return counts


def unseen_share(known: set[str], words: Iterable[Sequence[str]]) -> float:
    """Share of word occurrences not in the known set (the reference data's words)."""
    total = unseen = 0
    for text_words in words:
        total += len(text_words)
        unseen += sum(word not in known for word in text_words)
    return unseen / total if total else 0.0

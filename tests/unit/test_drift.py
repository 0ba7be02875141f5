"""Drift statistics against values worked out by hand."""

from collections import Counter

import numpy as np
import pytest

from toxic_mlops.monitoring.drift import (
    js_divergence,
    psi,
    psi_beyond_chance,
    token_counts,
    unseen_share,
)


def test_psi_is_zero_for_the_same_distribution_and_grows_with_shift() -> None:
    rng = np.random.default_rng(0)
    reference = rng.normal(0, 1, 5000)
    assert psi(reference, rng.normal(0, 1, 5000)) < 0.01
    assert 0.1 < psi(reference, rng.normal(0.5, 1, 5000)) < psi(reference, rng.normal(2, 1, 5000))


def test_psi_by_hand() -> None:
    # Reference quartile edges 2.5 and 5 (bins=2 -> one edge, the median 2.5): halves 50/50.
    reference, current = [1, 2, 3, 4], [1, 1, 1, 4]
    expected = (0.75 - 0.5) * np.log(0.75 / 0.5) + (0.25 - 0.5) * np.log(0.25 / 0.5)
    assert psi(reference, current, bins=2) == pytest.approx(expected)


def test_psi_beyond_chance_takes_off_what_small_samples_show_with_nothing_shifted() -> None:
    rng = np.random.default_rng(2)
    # 200 pairs of same-distribution samples of 160 and 300: PSI's mean is its chance level
    # (bins - 1)(1/160 + 1/300) = 0.086; beyond chance, the mean is near 0.
    pairs = [(rng.normal(0, 1, 160), rng.normal(0, 1, 300)) for _ in range(200)]
    assert np.mean([psi(a, b) for a, b in pairs]) == pytest.approx(0.086, abs=0.02)
    assert np.mean([psi_beyond_chance(a, b) for a, b in pairs]) < 0.02
    # A real shift stays: large samples lose under 0.01 to chance.
    reference, shifted = rng.normal(0, 1, 20_000), rng.normal(1, 1, 1_000)
    assert psi(reference, shifted) - psi_beyond_chance(reference, shifted) < 0.01
    assert psi_beyond_chance(reference, shifted) > 0.25
    assert psi_beyond_chance([1, 2, 3, 4], [1, 2, 3, 4], bins=2) == 0.0  # never below 0


def test_js_divergence_bounds() -> None:
    same = Counter({1: 3, 2: 1})
    assert js_divergence(same, Counter({1: 6, 2: 2})) == pytest.approx(0.0)
    assert js_divergence(Counter({1: 5}), Counter({2: 5})) == pytest.approx(1.0)
    # p = (1, 0), q = (1/2, 1/2): m = (3/4, 1/4); JS = (log2(4/3) + 1/2 log2(2/3) + 1/2 log2 2) / 2
    by_hand = (np.log2(4 / 3) + 0.5 * np.log2(2 / 3) + 0.5) / 2
    assert js_divergence(Counter({1: 2}), Counter({1: 1, 2: 1})) == pytest.approx(by_hand)
    with pytest.raises(ValueError):
        js_divergence(Counter(), same)


def test_token_counts_and_unseen_share() -> None:
    assert token_counts([[1, 2], [2, 3, 2]]) == Counter({2: 3, 1: 1, 3: 1})
    assert unseen_share({"a", "b"}, [["a", "c"], ["b", "b", "d"]]) == pytest.approx(2 / 5)
    assert unseen_share({"a"}, []) == 0.0

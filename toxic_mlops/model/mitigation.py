"""Identity-bias mitigation of the training rows: terms deleted, shuffled or swapped, or balanced.

Applied to the training rows only, inside `fit`, so the preprocess step's splits (and the TF-IDF
baseline trained on them) stay the data as it came. docs/bias.md has what each measured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from pyfunc.text import Normalizer
from toxic_mlops.config import BIAS_MITIGATIONS, Config
from toxic_mlops.data.dataset import TEXT
from toxic_mlops.evaluation.identity import TermMatcher, flat_terms

MAX_BALANCE_COPIES = 4  # a rare term's negatives are repeated at most this many extra times


def counterfactual_copies(
    frame: pd.DataFrame,
    text: str,
    groups: Mapping[str, Sequence[str]],
    normalizer: Normalizer,
    seed: int,
) -> pd.DataFrame:
    """A copy of every row that mentions an identity term, each such term swapped for another
    term of its group (drawn with seed), labels unchanged: the term alone cannot explain them."""
    terms = flat_terms(groups)
    matcher = TermMatcher(terms, normalizer)
    group_of = {term: list(group) for group in groups.values() for term in group}
    rng = np.random.default_rng(seed)
    copies, sources = [], []
    for row, value in enumerate(frame[text].tolist()):
        found = sorted(matcher.find(value))
        if not found:
            continue
        replacement = {}
        for index in found:
            others = [t for t in group_of[terms[index]] if t != terms[index]]
            if others:
                replacement[index] = others[rng.integers(len(others))]
        if replacement:
            copies.append(matcher.replace(value, replacement))
            sources.append(row)
    return frame.iloc[sources].assign(**{text: copies})


def rewritten(
    frame: pd.DataFrame,
    text: str,
    groups: Mapping[str, Sequence[str]],
    normalizer: Normalizer,
    seed: int,
    blind: bool,
) -> pd.DataFrame:
    """The rows with every identity term replaced in place: by a term drawn (with seed) from the
    whole list, so every term is seen in the same contexts (blind=False); or deleted (True)."""
    terms = flat_terms(groups)
    matcher = TermMatcher(terms, normalizer)
    rng = np.random.default_rng(seed)
    values = frame[text].tolist()
    for row, value in enumerate(values):
        found = sorted(matcher.find(value))
        if found:
            draws = rng.integers(len(terms), size=len(found))
            swap = {i: "" if blind else terms[d] for i, d in zip(found, draws, strict=True)}
            values[row] = matcher.replace(value, swap)
    return frame.assign(**{text: values})


def balanced_copies(
    frame: pd.DataFrame,
    text: str,
    label: str,
    groups: Mapping[str, Sequence[str]],
    normalizer: Normalizer,
    positive_threshold: float,
) -> pd.DataFrame:
    """Extra copies of the non-toxic rows that mention a term toxic rows mention more often than
    the data as a whole, so that the term's positive rate moves towards the overall one (the
    identity-balanced weights of the Jigsaw Unintended Bias winners, as repeated rows)."""
    mentions = TermMatcher(flat_terms(groups), normalizer).mentions(frame[text].tolist())
    known = frame[label].notna().to_numpy()
    positive = frame[label].to_numpy() >= positive_threshold
    negative = known & ~positive
    overall_odds = positive[known].sum() / max(negative.sum(), 1)
    members = mentions.to_numpy() & known[:, None]
    term_negatives = np.maximum((members & negative[:, None]).sum(0), 1)
    term_odds = (members & positive[:, None]).sum(0) / term_negatives
    extra = np.clip(np.round(term_odds / max(overall_odds, 1e-12)) - 1, 0, MAX_BALANCE_COPIES)
    copies = np.where(negative, (members * extra[None, :]).max(axis=1, initial=0), 0).astype(int)
    return frame.iloc[np.repeat(np.arange(len(frame)), copies)]


def mitigated(train: pd.DataFrame, config: Config) -> pd.DataFrame:
    """The training rows with training.bias_mitigation's extra rows appended ("none": as given)."""
    method, groups = config.training.bias_mitigation, config.bias.identity_terms
    dataset, normalizer = config.dataset, config.normalization
    if method == "none" or not groups:
        return train
    if method in ("shuffle", "blind"):
        seed = config.training.seed
        return rewritten(train, TEXT, groups, normalizer, seed, method == "blind")
    if method == "swap":
        extra = counterfactual_copies(train, TEXT, groups, normalizer, config.training.seed)
    elif method == "balance":
        label, threshold = dataset.stratify_column, dataset.positive_threshold
        extra = balanced_copies(train, TEXT, label, groups, normalizer, threshold)
    else:
        raise ValueError(f"bias mitigation must be one of {BIAS_MITIGATIONS}, got {method!r}")
    return pd.concat([train, extra], ignore_index=True)

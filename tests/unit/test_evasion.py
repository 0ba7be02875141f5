"""The attack families, the evasion figures, and the normaliser against the attacks it undoes."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from pyfunc.text import Normalizer
from toxic_mlops.evaluation.evasion import (
    FAMILIES,
    AttackSet,
    Scored,
    attack_text,
    roc_auc,
    toxic_lexicon,
)

DEOBFUSCATE = Normalizer(
    drop_invisible=True,
    fold_lookalikes=True,
    fold_letter_forms=True,
    join_spaced_letters=True,
    undo_leetspeak=True,
)
# What the normaliser reads back exactly; the others the model has to learn.
UNDONE = {
    "zero_width",
    "soft_hyphen",
    "homoglyph",
    "letter_forms",
    "spaced",
    "dotted",
    "zalgo",
    "mixed_unicode",
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_each_family_disguises_the_target_words_only(family: str) -> None:
    rng = np.random.default_rng(0)
    text = "You are a total idiot, said the editor."
    attacked = attack_text(text, frozenset({"idiot"}), FAMILIES[family], rng)
    assert attacked != text
    assert attacked.startswith("You are a total ") and attacked.endswith(", said the editor.")
    again = attack_text(text, frozenset({"idiot"}), FAMILIES[family], np.random.default_rng(0))
    assert again == attacked  # seeded


@pytest.mark.parametrize("family", sorted(UNDONE))
def test_the_normaliser_reads_these_families_back_exactly(family: str) -> None:
    rng = np.random.default_rng(3)
    for word in ("idiot", "stupid", "moron", "loser", "pathetic"):
        disguised = attack_text(f"you {word}", frozenset({word}), FAMILIES[family], rng)
        assert DEOBFUSCATE(disguised) == f"you {word}", disguised


def test_leetspeak_of_the_common_letters_is_read_back() -> None:
    """The family also writes 9 for g and 8 for b, which no normaliser can tell from digits."""
    rng = np.random.default_rng(5)
    words = ("idiot", "moron", "loser", "shit", "stupid")
    read = [DEOBFUSCATE(FAMILIES["leetspeak"](word, rng)) == word for word in words * 20]
    assert np.mean(read) > 0.9


def test_roc_auc_matches_scikit_learn_with_ties() -> None:
    rng = np.random.default_rng(1)
    positives, negatives = rng.integers(0, 5, 40) / 4, rng.integers(0, 4, 70) / 4
    expected = roc_auc_score(np.r_[np.ones(40), np.zeros(70)], np.r_[positives, negatives])
    assert roc_auc(positives, negatives) == pytest.approx(expected)


def test_the_lexicon_is_case_blind_and_keeps_words_far_more_common_in_toxic_rows() -> None:
    texts = ["You IDIOT", "idiot!", "you nice", "nice day", "the day", "a day", "you day"]
    toxic = np.array([True, True, False, False, False, False, False])
    assert toxic_lexicon(texts, toxic, 5, min_count=2) == ("idiot",)
    # "you" is in one toxic row of two and one clean row of five: more likely, not e times
    assert toxic_lexicon(texts, toxic, 5, min_count=1, min_log_odds=0.1) == ("idiot", "you")


def keyword_model(normalizer: Normalizer):
    """Flags a text when its normalised form holds 'idiot': a model that reads only that."""
    return lambda texts: np.array([float("idiot" in normalizer(t)) for t in texts])


def attack_set() -> AttackSet:
    texts = ["you idiot", "what an idiot you are", "idiot", "nice article", "thanks a lot"]
    targets = np.array([[1.0], [0.9], [1.0], [0.0], [0.1]], dtype=np.float32)
    return AttackSet.build(texts, targets, 0.5, frozenset({"idiot"}), FAMILIES)


def test_only_toxic_comments_holding_a_lexicon_word_are_attacked() -> None:
    targets = np.array([[1.0], [1.0], [0.0], [np.nan]], dtype=np.float32)
    attacks = AttackSet.build(
        ["you idiot", "go away", "nice", "idiot?"], targets, 0.5, frozenset({"idiot"}), FAMILIES
    )
    assert attacks.toxic == ["you idiot"]  # "go away" holds no lexicon word; NaN is unknown
    assert attacks.negatives == ["nice"]
    assert set(attacks.attacked) == set(FAMILIES)


def test_figures_show_what_a_keyword_model_loses_and_the_normaliser_gets_back() -> None:
    attacks = attack_set()
    plain = Scored.of(keyword_model(Normalizer()), attacks).figures(0.5)
    read_back = Scored.of(keyword_model(DEOBFUSCATE), attacks).figures(0.5)
    assert plain["clean_flagged"] == 1.0 and plain["clean_auc"] == 1.0
    for family in UNDONE:
        # The disguise works on a plain reader (but for mathematical bold, which NFKC reads).
        assert plain[f"{family}_retained"] < (1.0 if family == "letter_forms" else 0.01), family
        assert read_back[f"{family}_retained"] == 1.0, family
        assert read_back[f"{family}_auc"] == 1.0 and read_back[f"{family}_fp"] == 0.0
    assert plain["swap_retained"] == read_back["swap_retained"] == 0.0  # left to the model

"""Behaviour of a trained model (Made With ML's checks): invariance, direction, minimum function.

The tiny model is trained on synthetic comments (tests/synthetic.py), so the texts here use that
vocabulary: neutral words, insults, obscenities, threats, identity mentions.
"""

import numpy as np
import pytest

from tests.synthetic import LABELS, make_comments
from toxic_mlops.data.dataset import TEXT
from toxic_mlops.evaluation.metrics import macro, roc_auc_per_label

TOXICITY = LABELS.index("toxicity")
CLEAN = "The city council meeting about the school budget was a good idea."


def scores(tiny_model, texts: list[str]) -> np.ndarray:
    scorer, _ = tiny_model
    return scorer.predict_proba(texts)


@pytest.mark.parametrize(
    "variant",
    [
        CLEAN.upper(),  # case
        "  The city   council meeting\nabout the school budget was a good idea.  ",  # spacing
        "The city council <b>meeting</b> about the school budget was a good idea.",  # markup
    ],
)
def test_invariance_to_what_normalisation_removes(tiny_model, variant: str) -> None:
    original, changed = scores(tiny_model, [CLEAN, variant])
    np.testing.assert_allclose(changed, original, atol=1e-6)


def test_invariance_to_how_long_a_letter_is_held(tiny_model) -> None:
    held, held_longer = scores(tiny_model, ["You stuuuupid idiot.", "You stuuuuuuuuuupid idiot."])
    np.testing.assert_allclose(held_longer, held, atol=1e-6)


def test_invariance_to_the_neutral_topic(tiny_model) -> None:
    """Swapping one neutral subject for another moves no label by much."""
    topics = ["council", "school", "park", "road", "budget", "weather"]
    texts = [f"The {topic} story was a great read, thanks." for topic in topics]
    toxicity = scores(tiny_model, texts)[:, TOXICITY]
    assert np.ptp(toxicity) < 0.15


@pytest.mark.parametrize(
    ("added", "label"),
    [
        ("you idiot", "insult"),
        ("kill you", "threat"),
        ("stupid moron", "toxicity"),
    ],
)
def test_direction_adding_abuse_raises_its_label(tiny_model, added: str, label: str) -> None:
    """Two abusive words at the end of a long clean sentence raise the label's odds at least
    e-fold (log-odds, not probability: the wide path's features are L2-normalised over the
    whole text, so a long clean text dilutes two added words; a low score moves little in
    absolute terms, but its odds do)."""
    clean, abusive = scores(tiny_model, [CLEAN, f"{CLEAN} {added}"])
    column = LABELS.index(label)
    assert _logit(abusive[column]) > _logit(clean[column]) + 1.0


def _logit(probability: float) -> float:
    return float(np.log(probability / (1 - probability)))


def test_direction_removing_the_insult_lowers_toxicity(tiny_model) -> None:
    insulting, cleaned = scores(
        tiny_model, ["Read the local news, you pathetic loser.", "Read the local news."]
    )
    assert cleaned[TOXICITY] < insulting[TOXICITY] - 0.2


def test_minimum_functionality_on_fresh_comments(tiny_model) -> None:
    """Comments the model never saw, same source: it ranks the toxic ones first."""
    fresh = make_comments(400, seed=99).iloc[:400]
    targets = fresh[LABELS].to_numpy(np.float32)
    aucs = roc_auc_per_label(targets, scores(tiny_model, fresh[TEXT].tolist()), LABELS, 0.5)
    assert aucs["toxicity"] > 0.9 and macro(aucs) > 0.85


def test_every_score_is_a_probability_even_for_odd_text(tiny_model) -> None:
    odd = ["", " ", "😡😡😡", "x" * 10_000, "idiot " * 500]
    result = scores(tiny_model, odd)
    assert result.shape == (len(odd), len(LABELS))
    assert np.isfinite(result).all() and ((result >= 0) & (result <= 1)).all()

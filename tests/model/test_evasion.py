"""A trained model against disguised words: every attack family keeps a toxic comment flagged.

The tiny model is trained on synthetic comments (tests/synthetic.py) with the shipped config's
normaliser, read-back of disguised words and training noise (configs/toxic.yaml: normalization,
robustness).
"""

import numpy as np
import pytest

from tests.synthetic import LABELS
from toxic_mlops.data.dataset import TEXT
from toxic_mlops.evaluation.evasion import CLEAN_RATE, FAMILIES, attack_text
from toxic_mlops.evaluation.label_metrics import tune_thresholds

TOXICITY = LABELS.index("toxicity")
INSULTS = frozenset({"idiot", "stupid", "moron", "loser", "pathetic"})
TOXIC = "You are a stupid idiot and a pathetic loser."
CLEAN = "The city council meeting about the school budget was a good idea."
# Read back to the very same string by the normaliser (pyfunc/deobfuscation.py). Not "spaced":
# spaced-out words next to each other (or to "a") join into one (docs/evasion.md).
UNDONE = ("zero_width", "soft_hyphen", "homoglyph", "dotted", "zalgo", "mixed_unicode")


@pytest.fixture(scope="module")
def threshold(tiny_model) -> float:
    scorer, splits = tiny_model
    val = splits["val"]
    scores = scorer.predict_proba(val[TEXT].tolist())
    return tune_thresholds(val[LABELS].to_numpy(np.float32), scores, LABELS, 0.5)["toxicity"]


@pytest.mark.parametrize("family", UNDONE)
def test_what_the_normaliser_undoes_scores_exactly_as_the_clean_text(tiny_model, family) -> None:
    scorer, _ = tiny_model
    rng = np.random.default_rng(0)
    disguised = attack_text(TOXIC, INSULTS, FAMILIES[family], rng)
    np.testing.assert_allclose(
        scorer.predict_proba([disguised]), scorer.predict_proba([TOXIC]), atol=1e-6
    )


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_each_family_keeps_a_toxic_comment_above_its_threshold(
    tiny_model, threshold: float, family: str
) -> None:
    scorer, _ = tiny_model
    rng = np.random.default_rng(1)
    disguised = [attack_text(TOXIC, INSULTS, FAMILIES[family], rng) for _ in range(5)]
    scores = scorer.predict_proba([TOXIC, *disguised])[:, TOXICITY]
    assert scores[0] >= threshold
    assert (scores[1:] >= threshold).all(), dict(zip(disguised, scores[1:], strict=True))


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_disguising_clean_words_does_not_make_a_comment_toxic(
    tiny_model, threshold: float, family: str
) -> None:
    scorer, _ = tiny_model
    rng = np.random.default_rng(2)
    # A fifth of the words disguised, as the evasion figures' false-positive check does.
    disguised = [
        attack_text(CLEAN, frozenset(), FAMILIES[family], rng, CLEAN_RATE) for _ in range(5)
    ]
    scores = scorer.predict_proba([CLEAN, *disguised])[:, TOXICITY]
    assert (scores < threshold).all(), dict(zip([CLEAN, *disguised], scores, strict=True))

"""Training noise: the toxic-word lexicon, each disguise, the copies added to the train split."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from tests.conftest import tiny_config
from toxic_mlops.config import ConfigError, RobustnessConfig, build_config
from toxic_mlops.data.dataset import TEXT
from toxic_mlops.evaluation.evasion import toxic_lexicon
from toxic_mlops.model.obfuscation import FAMILIES, augmented, commonest, obfuscate, training_words


def test_the_lexicon_holds_the_words_over_represented_in_toxic_rows() -> None:
    texts = ["you idiot", "you stupid idiot", "idiot again", "nice day you", "nice idea you", "day"]
    toxic = np.array([True, True, True, False, False, False])
    lexicon = toxic_lexicon(texts, toxic, size=10, min_count=1)
    assert "idiot" in lexicon and "stupid" in lexicon
    assert not {"nice", "day", "you"} & set(lexicon)  # as common, or more, in clean rows
    assert toxic_lexicon(texts, toxic, size=1, min_count=1) == ("idiot",)  # the highest odds
    assert "stupid" not in toxic_lexicon(texts, toxic, size=10, min_count=2)  # seen once


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_each_disguise_changes_the_word_but_keeps_its_ends(family: str) -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        disguised = FAMILIES[family]("idiot", rng)
        assert disguised != "idiot"
        if family != "repeat":
            assert disguised[0] == "i" and disguised[-1] == "t"
        assert abs(len(disguised) - len("idiot")) <= 3


def test_lexicon_words_are_disguised_far_more_often_than_others() -> None:
    settings = RobustnessConfig(copies=1.0, word_rate=1.0, other_rate=0.0)
    rng = np.random.default_rng(1)
    text = obfuscate("the idiot wrote the article", frozenset({"idiot"}), settings, rng)
    assert text.startswith("the ") and text.endswith(" wrote the article")
    assert "idiot" not in text
    untouched = RobustnessConfig(copies=1.0, word_rate=0.0, other_rate=0.0)
    assert obfuscate("the idiot", frozenset({"idiot"}), untouched, rng) == "the idiot"


def frame(rows: int) -> pd.DataFrame:
    toxic = ["you stupid idiot", "idiot moron", "what a moron"]
    clean = ["nice article thanks", "the road budget", "good idea"]
    texts = [(toxic if i % 2 else clean)[i % 3] + f" {i}" for i in range(rows)]
    labels = [0.9 if i % 2 else 0.0 for i in range(rows)]
    config = build_config(tiny_config())
    return pd.DataFrame({TEXT: texts, **{label: labels for label in config.dataset.label_columns}})


def test_copies_keep_their_labels_and_are_reproducible() -> None:
    config = build_config(tiny_config())
    config = replace(
        config, robustness=RobustnessConfig(copies=0.5, lexicon_size=5, other_rate=0.0)
    )
    train = frame(40)
    lexicon, _ = training_words(train, config)
    assert {"idiot", "moron"} <= set(lexicon)
    first, again = augmented(train, config, lexicon), augmented(train, config, lexicon)
    pd.testing.assert_frame_equal(first, again)
    assert len(first) == 60
    pd.testing.assert_frame_equal(first.iloc[:40], train)  # the originals, untouched
    copies = first.iloc[40:]
    originals = train.set_index(train[TEXT].str.split().str[-1])  # the row number ends a text
    for _, row in copies.iterrows():
        source = originals.loc[row[TEXT].split()[-1]]
        assert row["toxicity"] == source["toxicity"]
    disguised_toxic = copies[copies["toxicity"] > 0.5][TEXT]
    assert not disguised_toxic.str.contains("idiot|moron|stupid").all()


def test_the_commonest_words_come_first_ties_by_spelling() -> None:
    texts = ["the cat and the dog", "a dog, the end", "x2 y2"]
    assert commonest(texts, 4) == ("the", "dog", "a", "and")
    assert commonest(texts, 0) == ()


def test_no_copies_is_the_training_split_itself() -> None:
    train = frame(10)
    off = replace(build_config(tiny_config()), robustness=RobustnessConfig(copies=0.0))
    assert training_words(train, off) == ((), ())
    assert augmented(train, off, ("idiot",)) is train


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"copies": 1.5}, "must be in \\[0, 1\\]"),
        ({"families": ["mask", "rot13"]}, "non-empty subset"),
        ({"lexicon_size": 0}, "lexicon_size must be >= 1"),
    ],
)
def test_bad_augment_settings_are_refused(settings: dict, message: str) -> None:
    raw = tiny_config()
    raw["robustness"] = {**raw.get("robustness", {}), **settings}
    with pytest.raises(ConfigError, match=message):
        build_config(raw)

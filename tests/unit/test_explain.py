"""Leave-one-word-out explanations: offsets into the raw text, the word that drives the score."""

from __future__ import annotations

import pandas as pd
import pytest

from pyfunc.explain import EXPLANATION_COLUMN, MAX_EXPLAINED_ROWS, explain, read_words
from pyfunc.model import EXPLAIN_PARAM, InvalidRequest, ToxicityModel
from tests.synthetic import LABELS

RAW = [
    "Thanks the council meeting IDIOOOOOT great news.",
    "😡 the road budget <br>stuuuupid https://x.org/a?b=1 vote",
    "cafe\u0301 ＳＴＵＰＩＤ plan",
    "the park " * 2000 + "idiot",  # past the character cut and the token limit
    "",
]


@pytest.fixture(scope="module")
def scorer(tiny_model):
    return tiny_model[0]


@pytest.mark.parametrize("text", RAW)
def test_the_explained_input_is_what_the_model_scores(scorer, text: str) -> None:
    ids, words, _ = read_words(scorer.encoder, text)
    assert ids == scorer.encoder.encode([text])[0]
    assert sorted(p for word in words for p in word.positions) == list(range(len(words and ids)))


def test_words_point_into_the_raw_text(scorer) -> None:
    explained = explain(scorer, RAW)
    words = [[w["text"] for w in row["words"]] for row in explained]
    assert "IDIOOOOOT" in words[0]
    assert {"😡", "stuuuupid", "https://x.org/a?b=1"} <= set(words[1])
    assert not any("<br>" in word for word in words[1])
    assert {"cafe\u0301", "ＳＴＵＰＩＤ"} <= set(words[2])
    for text, row in zip(RAW, explained, strict=True):
        for word in row["words"]:
            assert text[word["start"] : word["end"]] == word["text"]
            assert set(word["attribution"]) == set(LABELS)


def test_text_past_the_limits_is_not_explained(scorer) -> None:
    long, empty = explain(scorer, RAW[3:])
    assert long["truncated"] and not empty["truncated"] and empty["words"] == []
    assert len(long["words"]) <= scorer.encoder.max_len
    assert max(word["end"] for word in long["words"]) <= scorer.encoder.max_chars
    assert "idiot" not in [word["text"] for word in long["words"]]


def test_the_toxic_word_gets_the_largest_attribution(scorer) -> None:
    (row,) = explain(scorer, ["Thanks the council meeting idiot great local news."])
    top = max(row["words"], key=lambda word: word["attribution"]["toxicity"])
    assert top["text"] == "idiot" and top["attribution"]["toxicity"] > 1.0


def test_explain_is_off_by_default_and_leaves_the_scores_unchanged(scorer) -> None:
    model = ToxicityModel()
    model.scorer = scorer
    texts = pd.DataFrame({"text": RAW})
    plain = model.predict(None, texts)
    assert list(plain.columns) == LABELS
    pd.testing.assert_frame_equal(model.predict(None, texts, params={EXPLAIN_PARAM: False}), plain)
    explained = model.predict(None, texts, params={EXPLAIN_PARAM: True})
    pd.testing.assert_frame_equal(explained[LABELS], plain)
    assert [row["truncated"] for row in explained[EXPLANATION_COLUMN]][3]


def test_explaining_too_many_texts_is_a_client_error(scorer) -> None:
    model = ToxicityModel()
    model.scorer = scorer
    texts = ["the park"] * (MAX_EXPLAINED_ROWS + 1)
    assert len(model.predict(None, texts)) == len(texts)
    with pytest.raises(InvalidRequest, match="Too many comments to explain"):
        model.predict(None, texts, params={EXPLAIN_PARAM: True})

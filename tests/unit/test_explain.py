"""Explanations: toxic spans and word scores with offsets into the raw text, off by default."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from pyfunc.encoding import CHARS_PER_TOKEN_BUDGET, TextEncoder
from pyfunc.explain import EXPLANATION_COLUMN, explain
from pyfunc.model import EXPLAIN_PARAM, SCORING_SERVER_ENV, InvalidRequest, ToxicityModel
from pyfunc.scoring import Scorer
from pyfunc.spans import SpanSettings, Word, read_text, toxic_ranges
from tests.synthetic import LABELS, span_file
from toxic_mlops.spans.metrics import parse_span_posts
from toxic_mlops.spans.training import choose_wide_threshold

RAW = [
    "Thanks the council meeting IDIOOOOOT great news.",
    "😡 the road budget <br>stuuuupid https://x.org/a?b=1 vote",
    "cafe\u0301 ＳＴＵＰＩＤ plan, n\u0303o\u0308\u0301 marks 👍🏽",
    "the park " * 2000 + "idiot",  # past the character cut and the token limit
    "",
]
MAX_LEN = 40


@pytest.fixture(scope="module")
def scorer(tiny_model) -> Scorer:
    """The tiny model with wide-path spans, its threshold chosen on generated span posts (where
    raters marked the insults) as the train step chooses it."""
    base = tiny_model[0]
    posts = parse_span_posts(span_file(200, seed=1), "generated")
    fitted = choose_wide_threshold(base.network, base.encoder, posts, MAX_LEN)
    return Scorer(base.network, base.encoder, replace(base.spec, spans=fitted.settings))


def _explain(scorer: Scorer, texts: list[str]) -> list[dict]:
    return explain(scorer.network, scorer.encoder, scorer.spec.spans, texts, batch_size=2)


@pytest.mark.parametrize("text", RAW)
def test_spans_read_what_the_model_scores(scorer, text: str) -> None:
    read = read_text(scorer.encoder, text, scorer.encoder.max_len)
    assert read.ids == scorer.encoder.encode([text])[0]
    positions = [p for word in read.words for p in word.tokens]
    assert positions == sorted(set(positions)) and all(p < len(read.ids) for p in positions)


def test_words_and_spans_point_into_the_raw_text(scorer) -> None:
    explained = _explain(scorer, RAW)
    words = [[w["text"] for w in row["words"]] for row in explained]
    assert "IDIOOOOOT" in words[0]
    assert {"stuuuupid", "https://x.org/a?b=1", "budget"} <= set(words[1])
    assert not any("<br>" in word or "😡" in word for word in words[1])
    assert {"cafe\u0301", "ＳＴＵＰＩＤ", "plan", "n\u0303o\u0308\u0301"} <= set(words[2])
    for text, row in zip(RAW, explained, strict=True):
        for piece in row["words"] + row["spans"]:
            assert text[piece["start"] : piece["end"]] == piece["text"]
            assert 0 <= piece["score"] <= 1
    # Spans are runs of words at or above the threshold (no fallback here): each such word lies
    # in a span, and each span starts with one.
    threshold = scorer.spec.spans.threshold
    spans = explained[0]["spans"]
    for word in explained[0]["words"]:
        inside = any(s["start"] <= word["start"] and word["end"] <= s["end"] for s in spans)
        assert inside == (word["score"] >= threshold), word
    assert explained[1]["spans"][0]["text"].startswith("stuuuupid")
    # Words the tiny model never saw ("café") may score either way; the insult is marked.
    assert any("ＳＴＵＰＩＤ" in span["text"] for span in explained[2]["spans"])


def test_text_past_the_limits_has_no_spans(scorer) -> None:
    long, empty = _explain(scorer, RAW[3:])
    assert long["truncated"] and not empty["truncated"]
    assert empty == {"spans": [], "words": [], "truncated": False}
    assert len(long["words"]) <= MAX_LEN
    assert max(word["end"] for word in long["words"]) <= MAX_LEN * CHARS_PER_TOKEN_BUDGET
    assert "idiot" not in [word["text"] for word in long["words"]]


def test_consecutive_toxic_words_make_one_span_without_punctuation(scorer) -> None:
    text = "Thanks, the (stupid idiot)!!! the plan"
    (row,) = _explain(scorer, [text])
    assert [s["text"] for s in row["spans"]] == ["stupid idiot"]
    assert "(stupid" not in [w["text"] for w in row["words"]]


def test_toxic_ranges_merge_only_neighbours() -> None:
    words = [Word(0, 3, (0,)), Word(4, 9, (1,)), Word(10, 12, (2,)), Word(13, 18, (3,))]
    assert toxic_ranges(words, [0.9, 0.6, 0.1, 0.7], 0.5) == [(0, 9, 0.9), (13, 18, 0.7)]
    assert toxic_ranges(words, [0.1] * 4, 0.5) == []
    # No word at the threshold: the best one counts when it reaches the fallback.
    assert toxic_ranges(words, [0.1, 0.3, 0.2, 0.1], 0.5, fallback=0.25) == [(4, 9, 0.3)]
    assert toxic_ranges(words, [0.1, 0.3, 0.2, 0.1], 0.5, fallback=0.4) == []
    assert toxic_ranges(words, [0.9, 0.3, 0.2, 0.1], 0.5, fallback=0.25) == [(0, 3, 0.9)]


def test_a_model_without_span_scores_gives_words_but_no_spans(scorer) -> None:
    (row,) = explain(
        scorer.network, scorer.encoder, SpanSettings(), ["you stupid idiot"], batch_size=8
    )
    assert row["spans"] == [] and [w["score"] for w in row["words"]] == [0, 0, 0]


def test_explain_is_off_by_default_and_leaves_the_scores_unchanged(scorer) -> None:
    model = ToxicityModel()
    model.scorer = scorer
    texts = pd.DataFrame({"text": RAW})
    plain = model.predict(None, texts)
    assert list(plain.columns) == LABELS
    pd.testing.assert_frame_equal(model.predict(None, texts, params={EXPLAIN_PARAM: False}), plain)
    explained = model.predict(None, texts, params={EXPLAIN_PARAM: True})
    pd.testing.assert_frame_equal(explained[LABELS], plain)
    assert explained[EXPLANATION_COLUMN].tolist() == _explain(scorer, RAW)


def test_explaining_too_many_texts_is_a_client_error_over_http_only(scorer, monkeypatch) -> None:
    model = ToxicityModel()
    model.scorer = scorer
    monkeypatch.setattr("pyfunc.model.MAX_EXPLAINED_ROWS", 10)  # 1,000: smaller is quicker
    texts = ["the park", "you idiot"] * 10 + ["idiot"]
    explained = model.predict(None, texts, params={EXPLAIN_PARAM: True})  # in-process: chunked
    assert explained[EXPLANATION_COLUMN].tolist() == _explain(scorer, texts)
    monkeypatch.setenv(SCORING_SERVER_ENV, "/served/model")  # inside `mlflow models serve`
    assert len(model.predict(None, texts)) == len(texts)
    with pytest.raises(InvalidRequest, match="Too many comments to explain"):
        model.predict(None, texts, params={EXPLAIN_PARAM: True})


def test_explanations_read_no_further_than_a_capped_classifier(scorer) -> None:
    """serving.max_chars cuts what the classifier reads; the span reader stops there too."""
    encoder = scorer.encoder
    capped = TextEncoder(encoder.tokenizer, encoder.normalizer, encoder.max_len, max_chars=12)
    text = ["the park news you idiot"]
    [full] = explain(scorer.network, encoder, scorer.spec.spans, text, batch_size=2)
    [cut] = explain(scorer.network, capped, scorer.spec.spans, text, batch_size=2)
    assert cut["truncated"] and not full["truncated"]
    assert max(word["end"] for word in cut["words"]) <= 12 < max(w["end"] for w in full["words"])

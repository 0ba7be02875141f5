"""The SemEval-2021 Task 5 metric, the span file reader and the lexicon baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toxic_mlops.spans.metrics import (
    Lexicon,
    SpanDataError,
    SpanPost,
    bootstrap_interval,
    card_section,
    char_f1,
    holdout_split,
    parse_span_posts,
    post_f1s,
)


def test_char_f1_follows_the_task() -> None:
    assert char_f1([], []) == 1.0  # nothing marked, nothing predicted
    assert char_f1([1, 2], []) == 0.0  # empty gold scores 1 only for an empty prediction
    assert char_f1([], [1, 2]) == 0.0
    assert char_f1([1, 2, 3, 4], [3, 4, 5, 6, 7, 8]) == pytest.approx(2 * 2 / (4 + 6))
    assert char_f1({5}, {5}) == 1.0
    assert post_f1s([[1], []], [[1], [2]]).tolist() == [1.0, 0.0]


def test_bootstrap_interval_brackets_the_mean() -> None:
    values = np.random.default_rng(0).uniform(size=400)
    low, high = bootstrap_interval(values)
    assert low < values.mean() < high and high - low < 0.1


def test_holdout_split_is_a_seeded_partition() -> None:
    train, held = holdout_split(100, 0.2, seed=0)
    assert len(held) == 20 and sorted([*train, *held]) == list(range(100))
    assert holdout_split(100, 0.2, seed=0)[1].tolist() == held.tolist()
    assert holdout_split(100, 0.2, seed=1)[1].tolist() != held.tolist()


def test_span_files_are_read_and_bad_ones_named() -> None:
    frame = pd.DataFrame({"spans": ["[0, 1, 2]", "[]", "[99]"], "text": ["you idiot", "ok", "x"]})
    posts = parse_span_posts(frame, "f.csv")
    assert [p.offsets for p in posts] == [frozenset({0, 1, 2}), frozenset(), frozenset()]
    with pytest.raises(SpanDataError, match="f.csv: row 1: spans must be a JSON list"):
        parse_span_posts(pd.DataFrame({"spans": ["[1]", "oops"], "text": ["a", "b"]}), "f.csv")
    with pytest.raises(SpanDataError, match="missing \\['spans'\\]"):
        parse_span_posts(pd.DataFrame({"text": ["a"]}), "f.csv")


def _post(text: str, *marked: str) -> SpanPost:
    offsets = {i for word in marked for s in [text.index(word)] for i in range(s, s + len(word))}
    return SpanPost(text, frozenset(offsets))


def test_the_lexicon_learns_marked_words_and_merges_neighbours() -> None:
    posts = [_post("you idiot, go", "idiot"), _post("an idiot here", "idiot")] * 2
    posts += [_post("stupid plan", "stupid")] * 3 + [_post("go home")] * 3
    lexicon = Lexicon.learn(posts, min_rate=0.4, min_count=3)
    assert lexicon.toxic_words == {"idiot", "stupid"}
    text = "Stupid IDIOT! go"
    assert lexicon.predict(text) == set(range(0, len("Stupid IDIOT")))
    assert lexicon.predict("go home") == set()


def test_the_card_section_shows_figures_and_bold_spans() -> None:
    report = {
        "method": "tagger",
        "threshold": 0.4,
        "fallback": 0.1,
        "char_f1": 0.7,
        "char_f1_interval": [0.68, 0.72],
        "lexicon_char_f1": 0.6,
        "alternative": "wide",
        "alternative_char_f1": 0.4,
        "posts_train": 80,
        "posts_held_out": 20,
        "empty_gold_share": 0.05,
        "examples": [{"text": "you *idiot* go", "gold": [[4, 11]], "predicted": [[5, 10]]}],
    }
    text = "\n".join(card_section(report))
    assert "threshold 0.400, best word of a post with none over it when >= 0.100;" in text
    assert "| tagger (served) | 0.7000 (95% CI 0.6800-0.7200) |" in text
    assert "| word lexicon (same training part) | 0.6000 |" in text
    assert "- you \\***idiot**\\* go" in text and "marked: you **\\*idiot\\*** go" in text

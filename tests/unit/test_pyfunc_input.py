"""What the served model accepts and how it says no."""

import numpy as np
import pandas as pd
import pytest

from pyfunc.model import InvalidRequest, texts_from_input


@pytest.mark.parametrize(
    "model_input",
    [
        ["a", "b"],
        np.array(["a", "b"], dtype=object),
        pd.Series(["a", "b"]),
        pd.DataFrame({"text": ["a", "b"]}),
        {"text": np.array(["a", "b"], dtype=object)},
    ],
)
def test_accepted_forms(model_input) -> None:
    assert texts_from_input(model_input, max_rows=10) == ["a", "b"]


def test_single_string_and_empty_strings_are_texts() -> None:
    assert texts_from_input("just one", max_rows=10) == ["just one"]
    assert texts_from_input({"text": np.array("one", dtype=object)}, max_rows=10) == ["one"]
    assert texts_from_input(["", "  "], max_rows=10) == ["", "  "]


@pytest.mark.parametrize(
    ("model_input", "message"),
    [
        (pd.DataFrame({"comment": ["a"]}), "Missing column 'text'"),
        ({"comment": ["a"]}, "Missing key 'text'"),
        ({"text": np.array([1, 2], dtype=object)}, "item 0 is int"),
        ({"text": np.array(["a", None], dtype=object)}, "item 1 is NoneType \\(null\\)"),
        ({"text": np.array([{"a": 1}], dtype=object)}, "item 0 is dict"),
        ({"text": np.array([["x"]], dtype=object)}, "flat list"),
        (42, "Unsupported input"),
        (["a"] * 11, "Too many comments in one request: 11 > 10"),
    ],
)
def test_rejected_with_a_message_that_says_what_to_send(model_input, message) -> None:
    with pytest.raises(InvalidRequest, match=message) as caught:
        texts_from_input(model_input, max_rows=10)
    assert '{"inputs": [' in caught.value.message
    assert caught.value.get_http_status_code() == 400


def test_a_lone_surrogate_is_scored_as_a_replacement_character() -> None:
    """JSON may carry half of a UTF-16 pair ("\\ud800"); the tokenizer cannot take it."""
    texts = texts_from_input(["you \ud800 idiot", "\udfff", "fine 😡"], max_rows=10)
    assert texts == ["you \ufffd idiot", "\ufffd", "fine 😡"]
    assert [len(t) for t in texts] == [11, 1, 6]  # one code point for one: offsets hold

"""The scoring server's guard, piece by piece: content types, CSV, one-line messages."""

import json

import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import BAD_REQUEST

from pyfunc.http_guard import (
    GuardSettings,
    Refused,
    client_message,
    csv_as_json,
    media_type,
    one_line,
)
from pyfunc.model import HOW_TO_CALL, InvalidRequest

SETTINGS = GuardSettings(max_body_bytes=1000, text_column="text", how_to_call=HOW_TO_CALL)


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("application/json", "application/json"),
        ("Application/JSON; charset=UTF-8", "application/json"),
        ('application/json; charset="utf-8"', "application/json"),
        ("text/csv", "text/csv"),
    ],
)
def test_accepted_content_types(header: str, kind: str) -> None:
    assert media_type(header) == kind


@pytest.mark.parametrize(
    ("header", "says"),
    [
        (None, "Send a Content-Type"),
        ("  ", "Send a Content-Type"),
        ("text/plain", "'text/plain' is not accepted"),
        ("application/json; charset=latin-1", "charset=utf-8"),
        ("application/json; q=1", "charset=utf-8"),
    ],
)
def test_refused_content_types_get_415(header, says: str) -> None:
    with pytest.raises(Refused, match=says) as refused:
        media_type(header)
    assert refused.value.status == 415


def test_csv_reads_the_text_column_as_strings() -> None:
    body = 'id,text\n1,you idiot\n2,\n3,"two\nlines, and a comma"\n'
    assert json.loads(csv_as_json(body, SETTINGS)) == {
        "inputs": ["you idiot", "", "two\nlines, and a comma"]
    }
    assert json.loads(csv_as_json("text\n", SETTINGS)) == {"inputs": []}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("", "header row with a 'text' column"),
        ("comment\nyou idiot\n", "header row with a 'text' column"),
        ("id,text\n1\n", "as many cells as the header"),
        ('text\n"unclosed\n', "not CSV"),
    ],
)
def test_bad_csv_is_a_400_that_says_why(body: str, says: str) -> None:
    with pytest.raises(Refused, match=says) as refused:
        csv_as_json(body, SETTINGS)
    assert refused.value.status == 400


def test_messages_are_one_short_line_without_paths() -> None:
    message = one_line("first\nsecond  /usr/lib/python3/x.py and /tmp/a/b " + "x" * 1000)
    assert "\n" not in message and "/usr" not in message and "/tmp" not in message
    assert "<path>" in message and len(message) <= 400
    assert one_line("send text/csv or application/json") == "send text/csv or application/json"


def test_client_messages_drop_the_echoed_data_and_the_trace() -> None:
    invalid = InvalidRequest("Every input must be a string; item 0 is int (1).")
    invalid.message = f"Failed to predict data '{{'text': [1]}}'. \nError: {invalid.message}"
    assert client_message(invalid, HOW_TO_CALL).startswith("Every input must be a string")

    try:
        json.loads('{"inputs": [')
    except json.JSONDecodeError as cause:
        parse_error = MlflowException(f"Invalid input.\nInput: {'x' * 100}", BAD_REQUEST)
        parse_error.__cause__ = cause
    assert client_message(parse_error, HOW_TO_CALL) == (
        "The body is not valid JSON: Expecting value at character 12."
    )

    schema = MlflowException("Failed to enforce schema of data ' c\n0 a' with schema. Error: No.")
    assert client_message(schema, HOW_TO_CALL) == f"No. {HOW_TO_CALL}"

"""Inside `mlflow models serve` only: every answer of /invocations is a one-line JSON message.

MLflow 3.17's scoring server (mlflow/pyfunc/scoring_server/__init__.py, `invocations`) answers
some requests in ways a public API must not:

- no Content-Type header: `content_type.split` on None raises AttributeError, a 500, and uvicorn
  then closes the connection after answering (a proxy reusing it fails the next client's request);
- JSON nested past Python's recursion limit: RecursionError from `json.loads`, the same 500;
- any error in `predict` that is not an MlflowException, and text/csv or parquet that cannot be
  read: a 400 whose `stack_trace` holds the venv's and the model artifact's absolute paths;
- its parser errors echo the whole body back (`Input: ...`), so a 20 MB body gets a 20 MB answer;
- text/csv is read with the signature's dtypes, which a tensor signature (this model's) has not.

So the model, when it is loaded inside the scoring server (ToxicityModel.load_context), puts
`guarded` in place of the module's `invocations`, which the server's /invocations route looks up
at request time. It checks the content type and the body size first, reads text/csv itself,
hands the request to MLflow's `invocations` and turns whatever that raises into
{"error_code", "message"} with a one-line message and the right 4xx status. The traceback of an
unexpected error goes to the server's log, never to the client. After a large request it hands
the memory glibc kept back to the system (malloc_trim). A test pins the hooked function to this
MLflow version (tests/unit/test_http_guard.py); if MLflow changes it, `install` refuses to hook
and the server answers as MLflow does (docs/serving.md).
"""

from __future__ import annotations

import csv
import ctypes
import ctypes.util
import io
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from mlflow.exceptions import MlflowException

logger = logging.getLogger(__name__)

JSON = "application/json"
CSV = "text/csv"
PARQUET = "application/vnd.apache.parquet"
ACCEPTED = (JSON, CSV, PARQUET)
# The hooked function's parameters, in order (MLflow 3.17); anything else is not hooked.
HOOKED_PARAMETERS = ("data", "content_type", "model", "input_schema")
GUARDED_MARK = "_toxic_http_guard"
MAX_MESSAGE_CHARS = 400
# After a request with a body this large, glibc's free memory goes back to the system.
TRIM_AFTER_BYTES = 1 << 20
ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])/(?:[\w.+-]+/)+[\w.+-]+")
# MLflow's message for any exception of the model that is not an MlflowException.
UNEXPECTED_PREDICT_ERROR = "Encountered an unexpected error while evaluating the model"
# What MLflow puts in front of the message of an MlflowException raised by predict.
PREDICT_ERROR_PREFIX = "Failed to predict data "
# MLflow's messages for a request of the wrong shape (they show the data first).
SCHEMA_ERROR = "Failed to enforce schema of data"
WRONG_FORMAT = "The input must be a JSON dictionary with exactly one of the input fields"
NESTED_TOO_DEEPLY = "The JSON is nested too deeply."


@dataclass(frozen=True)
class GuardSettings:
    max_body_bytes: int
    text_column: str
    how_to_call: str  # appended to messages about the request's shape


class Refused(Exception):
    """A request the guard answers itself: HTTP status and one-line message."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_code, self.message = status, error_code, message


def one_line(message: str) -> str:
    """A message as one line of at most MAX_MESSAGE_CHARS, with no absolute path in it."""
    flat = " ".join(ABSOLUTE_PATH.sub("<path>", message).split())
    return flat if len(flat) <= MAX_MESSAGE_CHARS else flat[: MAX_MESSAGE_CHARS - 1] + "…"


def client_message(error: MlflowException, how_to_call: str) -> str:
    """What the client reads of an MlflowException raised while answering its request."""
    reason = getattr(error, "reason", None)  # pyfunc.model.InvalidRequest keeps its own words
    if isinstance(reason, str):
        return reason
    message = error.message
    if message.startswith(PREDICT_ERROR_PREFIX) and error.args:
        message = str(error.args[0])  # before MLflow put the request's data in front of it
    if message.startswith(SCHEMA_ERROR):  # the data, then MLflow's reason
        return f"{message.rpartition('Error: ')[2].strip()} {how_to_call}"
    if WRONG_FORMAT in message:
        return f"The body must be a JSON object with one input field. {how_to_call}"
    cause = error.__cause__
    if isinstance(cause, RecursionError):
        return NESTED_TOO_DEEPLY
    if isinstance(cause, json.JSONDecodeError):
        return f"The body is not valid JSON: {cause.msg} at character {cause.pos}."
    if isinstance(cause, UnicodeDecodeError):
        return f"The body is not valid UTF-8: {cause.reason} at byte {cause.start}."
    if message.startswith(UNEXPECTED_PREDICT_ERROR):
        return "The model could not score this request; the server log says why."
    # MLflow's other messages: the first line only (later lines echo the input or a traceback).
    return message.strip().split("\n", 1)[0]


def _answer(response_type: Callable[..., Any], status: int, code: str, message: str) -> Any:
    body = json.dumps({"error_code": code, "message": one_line(message)})
    return response_type(response=body, status=status, mimetype=JSON)


def media_type(content_type: str | None) -> str:
    """The request's media type, lower case, its only allowed parameter (charset=utf-8) checked."""
    if not content_type or not content_type.strip():
        raise Refused(415, "UNSUPPORTED_MEDIA_TYPE", "Send a Content-Type: application/json.")
    kind, *parameters = (part.strip() for part in content_type.split(";"))
    kind = kind.lower()
    if kind not in ACCEPTED:
        raise Refused(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            f"Content-Type {kind[:60]!r} is not accepted: send application/json "
            "(or text/csv with a header row).",
        )
    for parameter in filter(None, parameters):
        name, _, value = parameter.partition("=")
        if name.strip().lower() != "charset" or value.strip().strip('"').lower() != "utf-8":
            raise Refused(
                415, "UNSUPPORTED_MEDIA_TYPE", f"Only charset=utf-8 is accepted, got {parameter!r}."
            )
    return kind


def decoded(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        message = f"The body is not valid UTF-8: {error.reason} at byte {error.start}."
        raise Refused(400, "BAD_REQUEST", message) from None


def csv_as_json(text: str, settings: GuardSettings) -> str:
    """A text/csv body with a header row as the equivalent JSON request: {"inputs": [the text
    column]}, other columns left out. Every cell is read as the string it is (an empty cell is
    ""), so the model's own checks answer it as they answer JSON."""
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as error:
        raise Refused(400, "BAD_REQUEST", f"The body is not CSV: {error}.") from None
    column = settings.text_column
    if not rows or column not in rows[0]:
        message = f"The CSV needs a header row with a {column!r} column."
        raise Refused(400, "BAD_REQUEST", message)
    header, data = rows[0], [row for row in rows[1:] if row]
    if any(len(row) != len(header) for row in data):
        raise Refused(400, "BAD_REQUEST", "Every CSV row must have as many cells as the header.")
    index = header.index(column)
    return json.dumps({"inputs": [row[index] for row in data]})


def guarded(
    original: Callable[..., Any],
    response_type: Callable[..., Any],
    settings: GuardSettings,
    data: bytes | str,
    content_type: str | None,
    model: Any,
    input_schema: Any,
) -> Any:
    """MLflow's `invocations`, with every failure a one-line JSON answer (see the module doc)."""
    try:
        kind = media_type(content_type)
        if len(data) > settings.max_body_bytes:
            raise Refused(
                413,
                "REQUEST_TOO_LARGE",
                f"Request body over {settings.max_body_bytes} bytes: split the request.",
            )
        if kind == CSV:
            data, kind = csv_as_json(decoded(data), settings), JSON
        answer = original(data, kind, model, input_schema)
        if answer.status >= 400:  # MLflow's own plain-text refusals
            return _answer(response_type, answer.status, "BAD_REQUEST", str(answer.response))
        return answer
    except Refused as refused:
        return _answer(response_type, refused.status, refused.error_code, refused.message)
    except RecursionError:
        return _answer(response_type, 400, "BAD_REQUEST", NESTED_TOO_DEEPLY)
    except MlflowException as error:
        status = error.get_http_status_code()
        message = client_message(error, settings.how_to_call)
        if status >= 500 or error.message.startswith(UNEXPECTED_PREDICT_ERROR):
            # A failure of the server or of the model, not of the request: the details to the log.
            trace = error.json_kwargs.get("stack_trace", "")
            logger.error("a request failed: %s\n%s", one_line(error.message), trace)
        return _answer(response_type, status, error.error_code, message)
    except Exception:
        logger.exception("unexpected error while answering a request")
        return _answer(
            response_type, 500, "INTERNAL_ERROR", "The server failed on this request; it is logged."
        )
    finally:
        if len(data) > TRIM_AFTER_BYTES:
            release_memory()


def install(scoring_server: ModuleType, settings: GuardSettings) -> bool:
    """Put `guarded` in place of scoring_server.invocations; False (nothing done) when MLflow's
    function is not the one this was written for."""
    original = getattr(scoring_server, "invocations", None)
    if getattr(original, GUARDED_MARK, False):
        return True
    response_type = getattr(scoring_server, "InvocationsResponse", None)
    code = getattr(original, "__code__", None)
    parameters = code.co_varnames[: code.co_argcount] if code is not None else ()
    if response_type is None or parameters != HOOKED_PARAMETERS:
        logger.warning(
            "MLflow's scoring server is not the one pyfunc/http_guard.py knows: not hooked"
        )
        return False

    def invocations(data: bytes, content_type: str | None, model: Any, input_schema: Any) -> Any:
        return guarded(original, response_type, settings, data, content_type, model, input_schema)

    setattr(invocations, GUARDED_MARK, True)
    invocations.__wrapped__ = original  # type: ignore[attr-defined]
    scoring_server.invocations = invocations
    return True


_LIBC: Any = None


def release_memory() -> None:
    """Give the memory glibc's malloc keeps after freeing back to the system (no-op elsewhere)."""
    global _LIBC
    if _LIBC is None:
        name = ctypes.util.find_library("c")
        library = ctypes.CDLL(name) if name else None
        _LIBC = library if library is not None and hasattr(library, "malloc_trim") else False
    if _LIBC:
        _LIBC.malloc_trim(0)

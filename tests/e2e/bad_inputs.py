"""A corpus of bad requests to /invocations, sent directly, through the proxy and the page.

Each kind is one way a client can get a request wrong (or try something on purpose). What an
answer must never be, whatever the kind: a 5xx through the proxy, a body with a traceback, a
`stack_trace` or a path of the machine (tests/e2e/test_bad_inputs.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

JSON = "application/json"
DEPTH = 100_000  # 200 KB of brackets: far past Python's recursion limit
# An absolute path of two or more parts (/usr/lib, /tmp/x/y), not a media type such as text/csv.
ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])/(?:[\w.+-]+/)+[\w.+-]+")
LEAKS = ("Traceback", "stack_trace", "site-packages", 'File "', '.py"', "__pyfunc")


@dataclass(frozen=True)
class BadInput:
    name: str
    body: bytes = b""
    content_type: str | None = JSON
    method: str = "POST"
    path: str = "/invocations"


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


def corpus(max_rows: int) -> list[BadInput]:
    """Every kind, for a model that takes at most max_rows comments per request."""
    nested = b'{"inputs": ' + b"[" * DEPTH + b"]" * DEPTH + b"}"
    one = _json({"inputs": ["a"]})
    # POST /invocations with Content-Type: application/json
    bodies = {
        "empty body": b"",
        "invalid JSON": b'{"inputs": [',
        "JSON list, not an object": b'["a", "b"]',
        "JSON string": b'"you idiot"',
        "JSON null": b"null",
        "JSON number": b"42",
        "no input field": b"{}",
        "unknown input field": _json({"comments": ["a"]}),
        "two input fields": _json({"inputs": ["a"], "instances": ["b"]}),
        "inputs null": b'{"inputs": null}',
        "a null comment": b'{"inputs": ["a", null]}',
        "numbers": b'{"inputs": [1, 2]}',
        "NaN": b'{"inputs": [NaN]}',
        "Infinity": b'{"inputs": [Infinity, -Infinity]}',
        "a boolean": b'{"inputs": [true]}',
        "an object per comment": b'{"inputs": [{"text": "a"}]}',
        "nested lists": b'{"inputs": [["a", "b"], ["c", "d"]]}',
        "ragged lists": b'{"inputs": [["a"], "b"]}',
        "empty list": b'{"inputs": []}',
        "inputs an object": _json({"inputs": {"text": 5}}),
        "wrong column": _json({"dataframe_split": {"columns": ["c"], "data": [["a"]]}}),
        "split without data": _json({"dataframe_split": {"columns": ["text"]}}),
        "records of numbers": _json({"dataframe_records": [{"text": 1}]}),
        "too many rows": _json({"inputs": ["hi"] * (max_rows + 1)}),
        "lone surrogate": b'{"inputs": ["\\ud800"]}',
        "lone low surrogate in text": b'{"inputs": ["you \\udfff idiot"]}',
        "invalid UTF-8": b'{"inputs": ["\xff\xfe idiot"]}',
        "UTF-16 body": one.decode().encode("utf-16"),
        "NUL and control characters": _json({"inputs": ["a\x00b\x1b[31m\x7f"]}),
        "huge single comment": _json({"inputs": ["idiot " * 170_000]}),  # 1 MB
        "deep nesting": nested,
        "nesting under the limit": b'{"inputs": ' + b"[" * 900 + b"]" * 900 + b"}",
        "unknown params": _json({"inputs": ["a"], "params": {"temperature": 2}}),
        "explain not a boolean": _json({"inputs": ["a"], "params": {"explain": "maybe"}}),
        "params not an object": _json({"inputs": ["a"], "params": [1, 2]}),
    }
    # POST /invocations with another body and content type (None: no header)
    typed = {
        "no content type": (one, None),
        "text/plain": (one, "text/plain"),
        "latin-1 charset": (one, f"{JSON}; charset=latin-1"),
        "unknown content parameter": (one, f"{JSON}; q=1"),
        "form post": (b"inputs=a", "application/x-www-form-urlencoded"),
        "CSV without a text column": (b"comment\nyou idiot\n", "text/csv"),
        "CSV that is not CSV": (b'\x00\x01"\n"""\n\xff', "text/csv"),
        "parquet that is not parquet": (b"PAR1 nope", "application/vnd.apache.parquet"),
    }
    # Other methods and paths
    routes = {
        "GET /invocations": ("GET", "/invocations", b""),
        "PUT /invocations": ("PUT", "/invocations", one),
        "DELETE /invocations": ("DELETE", "/invocations", b""),
        "OPTIONS /invocations": ("OPTIONS", "/invocations", b""),
        "unknown endpoint": ("POST", "/predict", one),
        "path traversal": ("GET", "/../../etc/passwd", b""),
        "encoded path traversal": ("GET", "/%2e%2e/%2e%2e/etc/passwd", b""),
        "invocations/..": ("POST", "/invocations/../version", one),
        "very long path": ("GET", "/" + "a" * 6000, b""),
    }
    return (
        [BadInput(name, body) for name, body in bodies.items()]
        + [BadInput(name, body, kind) for name, (body, kind) in typed.items()]
        + [
            BadInput(name, body, JSON if body else None, method, path)
            for name, (method, path, body) in routes.items()
        ]
    )


def leaks(body: str) -> list[str]:
    """What of a traceback, MLflow internals or the machine's paths the body shows."""
    found = [marker for marker in LEAKS if marker in body]
    return found + ABSOLUTE_PATH.findall(body)

"""The guard the model puts on MLflow's scoring server, pinned to this MLflow version.

pyfunc/http_guard.py replaces `mlflow.pyfunc.scoring_server.invocations` from the model's
load_context. These tests fail when MLflow changes what the guard relies on: re-read the new
scoring server against the guard's docstring, adapt the guard, then update the pins here.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from pathlib import Path

import mlflow
import pytest
from mlflow.pyfunc import scoring_server

from pyfunc import http_guard
from pyfunc.model import SCORING_SERVER_ENV
from tests.e2e.bad_inputs import corpus, leaks
from tests.mlflow_io.test_registry import log_tiny_model

# sha256 of inspect.getsource(scoring_server.invocations) in MLflow 3.17.2, first 16 digits.
INVOCATIONS_SOURCE = "f17a52d7c623e127"


def test_the_hooked_function_is_the_one_the_guard_was_written_for() -> None:
    assert mlflow.__version__ == "3.17.2"
    parameters = tuple(inspect.signature(scoring_server.invocations).parameters)
    assert parameters == http_guard.HOOKED_PARAMETERS
    source = inspect.getsource(scoring_server.invocations)
    assert hashlib.sha256(source.encode()).hexdigest()[:16] == INVOCATIONS_SOURCE, (
        "MLflow changed scoring_server.invocations: check pyfunc/http_guard.py against it"
    )
    # The /invocations route looks the module's function up at request time ...
    assert "asyncio.to_thread(invocations, data, content_type, model, input_schema)" in (
        inspect.getsource(scoring_server.init)
    )
    # ... and the app loads the model (so load_context installs the guard) before serving.
    app = Path(scoring_server.__file__).with_name("app.py").read_text()
    assert "scoring_server.init(\n    scoring_server.load_model_with_mlflow_config(" in app
    # The messages the guard recognises are MLflow's.
    module = inspect.getsource(scoring_server)
    for wording in (http_guard.UNEXPECTED_PREDICT_ERROR, "Failed to predict data '"):
        assert wording in module
    assert http_guard.WRONG_FORMAT in scoring_server.REQUIRED_INPUT_FORMAT


def test_install_leaves_an_unknown_scoring_server_alone() -> None:
    class Unknown:
        InvocationsResponse = scoring_server.InvocationsResponse

        @staticmethod
        def invocations(request, model):  # noqa: ANN001, ANN205
            return None

    original = Unknown.invocations
    settings = http_guard.GuardSettings(100, "text", "")
    assert not http_guard.install(Unknown, settings)
    assert Unknown.invocations is original


@pytest.fixture
def served_model(tracking, tmp_path, monkeypatch):
    """The tiny logged model loaded as the scoring server loads it: the guard installed."""
    _, model_uri = log_tiny_model(tmp_path, 0.5)
    monkeypatch.setattr(scoring_server, "invocations", scoring_server.invocations)  # restored
    monkeypatch.setenv(SCORING_SERVER_ENV, model_uri)
    model = mlflow.pyfunc.load_model(model_uri)
    assert getattr(scoring_server.invocations, http_guard.GUARDED_MARK)

    def invoke(body: bytes, content_type: str | None = "application/json"):
        schema = model.metadata.get_input_schema()
        return scoring_server.invocations(body, content_type, model, schema)

    return invoke


def test_every_bad_request_is_a_one_line_4xx(served_model) -> None:
    for case in corpus(max_rows=50):  # what log_tiny_model bakes in
        if case.method != "POST" or case.path != "/invocations":
            continue  # the routes are FastAPI's, tested end to end
        answer = served_model(case.body, case.content_type)
        assert answer.status < 500, (case.name, answer.response[:300])
        assert not leaks(answer.response), (case.name, answer.response[:300])
        if answer.status >= 400:
            assert set(json.loads(answer.response)) == {"error_code", "message"}, case.name


def test_csv_scores_like_json(served_model) -> None:
    as_json = served_model(b'{"inputs": ["you idiot", ""]}')
    as_csv = served_model(b"id,text\n1,you idiot\n2,\n", "text/csv; charset=utf-8")
    assert as_csv.status == as_json.status == 200
    assert as_csv.response == as_json.response


def test_the_server_refuses_a_body_over_its_limit_before_reading_it(served_model) -> None:
    answer = served_model(b'{"inputs": ["' + b"x" * (33 << 20) + b'"]}')
    assert answer.status == 413 and "Request body over" in json.loads(answer.response)["message"]

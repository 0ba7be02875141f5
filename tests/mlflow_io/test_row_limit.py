"""serving.max_rows guards one HTTP request; in-process callers score any number of rows."""

from __future__ import annotations

import json

import mlflow
import pandas as pd
import pytest
import torch
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import scoring_server

from pyfunc.explain import MAX_EXPLAINED_ROWS
from pyfunc.model import NUM_THREADS_KEY, SCORING_SERVER_ENV
from tests.mlflow_io.test_registry import log_tiny_model

MAX_ROWS = 50  # what log_tiny_model bakes into the model
TEXTS = [f"comment {i} you idiot" if i % 3 else "" for i in range(130)]


def test_the_server_marker_is_the_variable_mlflow_sets_for_the_server_only() -> None:
    assert SCORING_SERVER_ENV == scoring_server._SERVER_MODEL_PATH
    _, server_env = scoring_server.get_cmd("/some/model", port=5000)
    assert server_env[SCORING_SERVER_ENV]


def test_in_process_predict_takes_more_than_max_rows(tracking, tmp_path, monkeypatch) -> None:
    _, model_uri = log_tiny_model(tmp_path, 0.5)
    model = mlflow.pyfunc.load_model(model_uri)
    everything = model.predict(pd.DataFrame({"text": TEXTS}))
    assert len(everything) == len(TEXTS) > MAX_ROWS
    piecewise = pd.concat(
        [model.predict(pd.DataFrame({"text": TEXTS[i : i + 10]})) for i in range(0, 130, 10)],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(everything, piecewise, rtol=1e-5)

    monkeypatch.setenv(SCORING_SERVER_ENV, "/served/model")  # as inside `mlflow models serve`
    too_many = f"Too many comments in one request: 130 > {MAX_ROWS}"
    with pytest.raises(MlflowException, match=too_many):
        model.predict(pd.DataFrame({"text": TEXTS}))


def test_mlflow_models_predict_on_a_file_is_not_limited(tracking, tmp_path) -> None:
    """What `mlflow models predict -i file --env-manager local` runs, in this process."""
    _, model_uri = log_tiny_model(tmp_path, 0.5)
    request, answer = tmp_path / "request.json", tmp_path / "answer.json"
    request.write_text(json.dumps({"inputs": TEXTS}))
    scoring_server._predict(model_uri, str(request), str(answer), "json")
    assert len(json.loads(answer.read_text())["predictions"]) == len(TEXTS)


def test_a_loader_can_set_the_torch_threads(tracking, tmp_path) -> None:
    _, model_uri = log_tiny_model(tmp_path, 0.5)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        mlflow.pyfunc.load_model(model_uri, model_config={NUM_THREADS_KEY: 1})
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_in_process_explain_takes_any_number_and_http_keeps_its_limit(
    tracking, tmp_path, monkeypatch
) -> None:
    """`mlflow models predict` with explain used to stop at 1,000 comments with a traceback."""
    _, model_uri = log_tiny_model(tmp_path, 0.5)
    many = [f"comment {i} you idiot" for i in range(MAX_EXPLAINED_ROWS + 5)]
    request, answer = tmp_path / "request.json", tmp_path / "answer.json"
    request.write_text(json.dumps({"inputs": many, "params": {"explain": True}}))
    scoring_server._predict(model_uri, str(request), str(answer), "json")
    predictions = json.loads(answer.read_text())["predictions"]
    assert len(predictions) == len(many)
    model = mlflow.pyfunc.load_model(model_uri)
    tail = model.predict(pd.DataFrame({"text": many[-5:]}), params={"explain": True})
    assert [p["explanation"] for p in predictions[-5:]] == tail["explanation"].tolist()

    monkeypatch.setenv(SCORING_SERVER_ENV, "/served/model")  # as inside `mlflow models serve`
    monkeypatch.setattr("pyfunc.model.MAX_EXPLAINED_ROWS", 10)  # under the tiny max_rows (50)
    with pytest.raises(MlflowException, match="Too many comments to explain in one request: 11"):
        model.predict(pd.DataFrame({"text": many[:11]}), params={"explain": True})

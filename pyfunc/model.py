"""The MLflow pyfunc wrapper: raw strings in, one probability per label out."""

from __future__ import annotations

import os
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import torch
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

from pyfunc.explain import EXPLANATION_COLUMN, MAX_EXPLAINED_ROWS, explain
from pyfunc.scoring import MODEL_CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE, Scorer

TEXT_COLUMN = "text"
# Inference parameter (declared in the signature, default false): adds EXPLANATION_COLUMN.
EXPLAIN_PARAM = "explain"
NUM_THREADS_KEY = "num_threads"  # model_config key: torch threads, overriding serving.num_threads
# MLflow's scoring-server command (mlflow.pyfunc.scoring_server.get_cmd: `mlflow models serve` and
# the Docker image) sets this variable in the server process and nowhere else, so it tells an HTTP
# request from an in-process call (notebook, `mlflow models predict`, Spark); tested against MLflow.
SCORING_SERVER_ENV = "__pyfunc_model_path__"
HOW_TO_CALL = (
    'Send {"inputs": ["a comment", ...]} or '
    '{"dataframe_split": {"columns": ["text"], "data": [["a comment"], ...]}}.'
)


class InvalidRequest(MlflowException):
    """A client error: the scoring server answers it with HTTP 400 and this message."""

    def __init__(self, message: str) -> None:
        super().__init__(f"{message} {HOW_TO_CALL}", error_code=INVALID_PARAMETER_VALUE)


def request_row_limit(max_rows: int) -> int | None:
    """The row limit of one HTTP request inside the scoring server; None (no limit) in-process."""
    return max_rows if SCORING_SERVER_ENV in os.environ else None


def texts_from_input(model_input: Any, max_rows: int | None) -> list[str]:
    """The list of comments in a pyfunc input, or InvalidRequest saying what is wrong with it.

    Accepts a DataFrame with a `text` column, {"text": [...]} (what the scoring server passes for
    a named tensor signature), a flat list / Series / array of strings, or one string.
    """
    if isinstance(model_input, pd.DataFrame):
        if TEXT_COLUMN not in model_input.columns:
            raise InvalidRequest(
                f"Missing column '{TEXT_COLUMN}'; "
                f"got columns {list(map(str, model_input.columns))}."
            )
        model_input = model_input[TEXT_COLUMN]
    elif isinstance(model_input, dict):
        if TEXT_COLUMN not in model_input:
            raise InvalidRequest(f"Missing key '{TEXT_COLUMN}'; got keys {list(model_input)}.")
        model_input = model_input[TEXT_COLUMN]
    if isinstance(model_input, str):
        return [model_input]
    if not isinstance(model_input, (list, tuple, pd.Series, np.ndarray)):
        raise InvalidRequest(f"Unsupported input of type {type(model_input).__name__}.")

    values = np.asarray(model_input, dtype=object)
    if values.ndim == 0:
        values = values.reshape(1)
    if values.ndim != 1:
        raise InvalidRequest(
            f"Expected a flat list of strings, got nested lists of shape {values.shape}."
        )
    if max_rows is not None and len(values) > max_rows:
        raise InvalidRequest(
            f"Too many comments in one request: {len(values)} > {max_rows}. Split the request."
        )
    for index, value in enumerate(values):
        if not isinstance(value, str):
            shown = "null" if value is None else repr(value)[:50]
            raise InvalidRequest(
                f"Every input must be a string; item {index} is {type(value).__name__} ({shown})."
            )
    return [str(value) for value in values]


class ToxicityModel(mlflow.pyfunc.PythonModel):
    """Bundles tokenizer.json, the state dict and model_config.json; no pickled objects."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        artifacts = context.artifacts
        self.scorer = Scorer.from_files(
            artifacts[TOKENIZER_FILE], artifacts[WEIGHTS_FILE], artifacts[MODEL_CONFIG_FILE]
        )
        # A loader's model_config (spark_udf: one thread per Spark task) may override the
        # threads baked into the model.
        override = (context.model_config or {}).get(NUM_THREADS_KEY)
        threads = self.scorer.spec.num_threads if override is None else int(override)
        if threads > 0:
            # With N server workers (or Spark tasks) on C cores, N x threads <= C avoids
            # oversubscription.
            torch.set_num_threads(threads)
        # Warm-up: the first real request should not pay for lazy initialisation.
        self.scorer.predict_proba(["warm up"])

    # model_input is left unannotated on purpose: MLflow turns a predict() type hint into a
    # signature of its own and a list-only request format; the explicit ColSpec signature
    # logged with the model keeps both {"inputs": [...]} and dataframe_split working.
    def predict(self, context, model_input, params=None) -> pd.DataFrame:  # noqa: ANN001
        texts = texts_from_input(model_input, request_row_limit(self.scorer.spec.max_rows))
        probabilities = self.scorer.predict_proba(texts)
        scores = pd.DataFrame(probabilities, columns=self.scorer.spec.labels)
        if (params or {}).get(EXPLAIN_PARAM):
            if len(texts) > MAX_EXPLAINED_ROWS:
                raise InvalidRequest(
                    f"Too many comments to explain in one request: {len(texts)} > "
                    f"{MAX_EXPLAINED_ROWS}. Split the request, or leave out params.explain."
                )
            scorer = self.scorer
            scores[EXPLANATION_COLUMN] = explain(
                scorer.network, scorer.encoder, scorer.spec.spans, texts, scorer.spec.batch_size
            )
        return scores

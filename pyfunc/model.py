"""The MLflow pyfunc wrapper: raw strings in, one probability per label out."""

from __future__ import annotations

import os
import re
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import torch
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

from pyfunc import http_guard
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
# Half of a UTF-16 pair on its own (JSON allows "\ud800"; a string cut inside an emoji gives one):
# not Unicode text, so the tokenizer cannot take it. Scored as U+FFFD, one code point for one, so
# explanation offsets still index the string the client sent.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class InvalidRequest(MlflowException):
    """A client error: the scoring server answers it with HTTP 400 and this message."""

    def __init__(self, message: str) -> None:
        super().__init__(f"{message} {HOW_TO_CALL}", error_code=INVALID_PARAMETER_VALUE)
        # MLflow prefixes `message` with the request's data; the server's answer uses this.
        self.reason = self.message


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
    texts = [str(value) for value in values]
    return [text if text.isascii() else LONE_SURROGATE.sub("\ufffd", text) for text in texts]


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
        if SCORING_SERVER_ENV in os.environ:  # inside `mlflow models serve`: harden its answers
            from mlflow.pyfunc import scoring_server

            spec = self.scorer.spec
            http_guard.install(
                scoring_server,
                http_guard.GuardSettings(spec.max_request_mb << 20, TEXT_COLUMN, HOW_TO_CALL),
            )

    # model_input is annotated pd.DataFrame, a hint MLflow infers nothing from (so it does not
    # warn that predict has none): a list hint would make MLflow derive a signature of its own
    # and a list-only request format. The tensor signature logged with the model keeps
    # {"inputs": [...]} and dataframe_split working; texts_from_input takes every form.
    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:  # noqa: ANN001
        texts = texts_from_input(model_input, request_row_limit(self.scorer.spec.max_rows))
        probabilities = self.scorer.predict_proba(texts)
        scores = pd.DataFrame(probabilities, columns=self.scorer.spec.labels)
        if (params or {}).get(EXPLAIN_PARAM):
            limit = request_row_limit(MAX_EXPLAINED_ROWS)
            if limit is not None and len(texts) > limit:
                raise InvalidRequest(
                    f"Too many comments to explain in one request: {len(texts)} > "
                    f"{limit}. Split the request, or leave out params.explain."
                )
            scores[EXPLANATION_COLUMN] = self.explain(texts)
        return scores

    def explain(self, texts: list[str]) -> list[dict[str, Any]]:
        """Explanations, MAX_EXPLAINED_ROWS texts at a time (in-process callers send any number)."""
        scorer = self.scorer
        return [
            explanation
            for start in range(0, len(texts), MAX_EXPLAINED_ROWS)
            for explanation in explain(
                scorer.network,
                scorer.encoder,
                scorer.spec.spans,
                texts[start : start + MAX_EXPLAINED_ROWS],
                scorer.spec.batch_size,
            )
        ]

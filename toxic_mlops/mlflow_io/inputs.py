"""What the steps read from MLflow or elsewhere: batches, splits, tokenizer, models, params."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow
import numpy as np
import pandas as pd
from mlflow.entities import Run

from toxic_mlops.config import ConfigError, DatasetConfig
from toxic_mlops.contract import (
    BEST_PARAMS_ARTIFACT,
    EMBEDDINGS_ARTIFACT,
    MODEL_URI_TAG,
    SPLITS_ARTIFACT,
    TOKENIZER_ARTIFACT,
)
from toxic_mlops.data.dataset import TEXT, load_splits, standardize
from toxic_mlops.data.download import FetchedFile, default_cache_dir, load_sources
from toxic_mlops.data.embeddings import INFO_FILE, MATRIX_FILE, load_matrix
from toxic_mlops.errors import PipelineError
from toxic_mlops.mlflow_io.runs import download_run_artifacts, get_run, local_copy

if TYPE_CHECKING:  # torch: only the steps that load a model import it
    from pyfunc.scoring import Scorer


def read_batch(
    source: str, dataset: DatasetConfig, workdir: Path
) -> tuple[pd.DataFrame, list[FetchedFile]]:
    """A batch from a path, URL, hf:// or MLflow artifact URI, with the config's column names."""
    if not source:
        raise PipelineError("no data given: pass -P data=<path or URL>")
    if source.startswith(("runs:/", "models:/", "mlflow-artifacts:/")):
        source = str(local_copy(source, workdir / "batch"))
    frame, files = load_sources([source], [], default_cache_dir())
    frame, _ = standardize(frame, dataset)
    return frame, files


def train_run_with_model(train_run: str) -> Run:
    """A finished train run that logged a model, or a ConfigError saying it is not one."""
    run = get_run(train_run)
    if MODEL_URI_TAG not in run.data.tags:
        raise ConfigError(f"run {train_run} is not a finished train run with a logged model")
    return run


def reference_splits(preprocess_run: str, workdir: Path) -> dict[str, pd.DataFrame]:
    return load_splits(download_run_artifacts(preprocess_run, SPLITS_ARTIFACT, workdir / "ref"))


def preprocessed_inputs(
    preprocess_run: str, data_dir: str, workdir: Path
) -> tuple[dict[str, pd.DataFrame], Path]:
    """(splits, tokenizer.json) from a preprocess run, or from a folder holding both."""
    if preprocess_run:
        tokenizer = download_run_artifacts(preprocess_run, TOKENIZER_ARTIFACT, workdir / "in")
        return reference_splits(preprocess_run, workdir), tokenizer
    return load_splits(Path(data_dir)), Path(data_dir) / Path(TOKENIZER_ARTIFACT).name


def preprocessed_embeddings(
    preprocess_run: str, data_dir: str, source: str, workdir: Path
) -> np.ndarray | None:
    """The preprocess step's embedding matrix when it was built from `source`; else None (then
    training builds it from the file)."""
    if not source:
        return None
    if preprocess_run:
        logged = mlflow.artifacts.list_artifacts(run_id=preprocess_run)
        if EMBEDDINGS_ARTIFACT not in {entry.path for entry in logged}:
            return None
        folder = download_run_artifacts(preprocess_run, EMBEDDINGS_ARTIFACT, workdir / "emb")
    else:
        folder = Path(data_dir) / EMBEDDINGS_ARTIFACT
    info = folder / INFO_FILE
    if not info.is_file() or json.loads(info.read_text()).get("source") != source:
        return None
    return load_matrix(folder / MATRIX_FILE)


def load_scorer(model_uri: str) -> Scorer:
    """The scorer inside a logged toxic-mlops pyfunc model (tokenizer + network)."""
    return mlflow.pyfunc.load_model(model_uri).unwrap_python_model().scorer


def pyfunc_predictor(model_uri: str) -> Callable[[list[str]], np.ndarray]:
    """Scores through the logged pyfunc, as clients call it, in requests of at most max_rows."""
    model = mlflow.pyfunc.load_model(model_uri)
    max_rows = model.unwrap_python_model().scorer.spec.max_rows

    def predict(texts: list[str]) -> np.ndarray:
        parts = [
            model.predict(pd.DataFrame({TEXT: texts[start : start + max_rows]})).to_numpy()
            for start in range(0, len(texts), max_rows)
        ]
        return np.concatenate(parts)

    return predict


def load_best_params(run_id: str) -> dict[str, str]:
    """The tuned settings a tune run logged, as train overrides (strings, like -P values)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = download_run_artifacts(run_id, BEST_PARAMS_ARTIFACT, Path(tmp))
        return {key: str(value) for key, value in json.loads(path.read_text()).items()}

"""New batches of comments (for validate, monitor, retrain) and the reference data they meet."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd

from pyfunc.scoring import Scorer
from toxic_mlops.config import DatasetConfig
from toxic_mlops.data.dataset import TEXT, load_splits, standardize
from toxic_mlops.data.download import FetchedFile, default_cache_dir, load_sources
from toxic_mlops.errors import PipelineError
from toxic_mlops.mlflow_io.runs import (
    SPLITS_ARTIFACT,
    TOKENIZER_ARTIFACT,
    download_run_artifacts,
    local_copy,
)


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


def as_text_frame(frame: pd.DataFrame, dataset: DatasetConfig) -> pd.DataFrame:
    """The batch in the splits' layout: `text` plus whichever label columns it has."""
    labels = [label for label in dataset.label_columns if label in frame.columns]
    data = pd.DataFrame({TEXT: frame[dataset.text_column].astype(str)})
    for label in labels:
        data[label] = pd.to_numeric(frame[label], errors="coerce")
    return data


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


def load_scorer(model_uri: str) -> Scorer:
    """The scorer inside a logged toxic-mlops pyfunc model (tokenizer + network)."""
    return mlflow.pyfunc.load_model(model_uri).unwrap_python_model().scorer

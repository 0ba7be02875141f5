"""Schema checks, cleaning, stratified splits and the data profile of the preprocess step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pyfunc.text import Normalizer
from toxic_mlops.config import DatasetConfig, SplitConfig
from toxic_mlops.errors import PipelineError

TEXT = "text"  # the text column's name in the splits, whatever the source calls it
SPLITS = ("train", "val", "test")
# Optional column of a raw file: rows that name a split stay in it (retraining keeps the old
# model's test rows out of the new model's training data); the rest are split at random.
SPLIT_COLUMN = "split"


class SchemaError(PipelineError, ValueError):
    """The data does not match the schema the config names; the message lists every problem."""


def standardize(frame: pd.DataFrame, dataset: DatasetConfig) -> tuple[pd.DataFrame, int]:
    """Rename aliased columns, map string labels to numbers; (frame, rows dropped: no label)."""
    frame = frame.rename(
        columns={a: c for a, c in dataset.column_aliases.items() if c not in frame.columns}
    )
    keep = pd.Series(True, index=frame.index)
    for label, mapping in dataset.label_values.items():
        if label not in frame.columns or pd.api.types.is_numeric_dtype(frame[label]):
            continue
        values = frame[label].astype(str).str.strip().str.lower()
        lookup = {str(k).lower(): float(v) for k, v in mapping.items()}
        keep &= values.isin(lookup)
        frame = frame.assign(**{label: values.map(lookup)})
    return frame[keep].reset_index(drop=True), int((~keep).sum())


def schema_problems(
    frame: pd.DataFrame, dataset: DatasetConfig, require_labels: bool = True
) -> list[str]:
    """Every way the frame breaks the schema; labels may be absent when not required."""
    problems: list[str] = []
    columns = list(frame.columns)
    if dataset.text_column not in columns:
        problems.append(f"text column {dataset.text_column!r} is missing")
    else:
        text = frame[dataset.text_column]
        if (nulls := int(text.isna().sum())) > 0:
            problems.append(f"text column {dataset.text_column!r} has {nulls} null values")
        non_strings = sum(not isinstance(value, str) for value in text.dropna())
        if non_strings:
            problems.append(
                f"text column {dataset.text_column!r} has {non_strings} non-string values"
            )
    for label in dataset.label_columns:
        if label not in columns:
            if require_labels:
                problems.append(f"label column {label!r} is missing")
            continue
        values = pd.to_numeric(frame[label], errors="coerce")
        not_numbers = int((values.isna() & frame[label].notna()).sum())
        if not_numbers:
            problems.append(f"label {label!r} has {not_numbers} non-numeric values")
        missing = int(frame[label].isna().sum())
        if missing and not dataset.allow_missing_labels:
            problems.append(
                f"label {label!r} has {missing} missing values "
                "(set dataset.allow_missing_labels: true to mask them)"
            )
        outside = int(((values < 0) | (values > 1)).sum())
        if outside:
            problems.append(f"label {label!r} has {outside} values outside [0, 1]")
    if not len(frame):
        problems.append("the data has no rows")
    return problems


def validate_schema(frame: pd.DataFrame, dataset: DatasetConfig) -> None:
    if problems := schema_problems(frame, dataset):
        raise SchemaError(
            f"data does not match the schema of dataset {dataset.name!r}: "
            + "; ".join(problems)
            + f". Columns present: {list(frame.columns)}"
        )


def identity_columns(frame: pd.DataFrame, dataset: DatasetConfig) -> list[str]:
    """The configured identity columns this data actually has (for the bias metric)."""
    return [c for c in dataset.identity_columns if c in frame.columns]


def clean(
    frame: pd.DataFrame, dataset: DatasetConfig, normalizer: Normalizer
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Keep text, labels and identities; drop comments that normalise to nothing and repeats.

    The raw text is kept: the model normalises it itself, at training and at serving time.
    """
    data = pd.DataFrame({TEXT: frame[dataset.text_column].astype(str)})
    for column in dataset.label_columns + identity_columns(frame, dataset):
        data[column] = pd.to_numeric(frame[column], errors="coerce").astype("float32")
    if SPLIT_COLUMN in frame.columns:
        data[SPLIT_COLUMN] = frame[SPLIT_COLUMN].where(frame[SPLIT_COLUMN].isin(SPLITS))
    normalized = data[TEXT].map(normalizer)
    empty = normalized.str.len() == 0
    duplicate = normalized.duplicated() & ~empty
    kept = data[~empty & ~duplicate].reset_index(drop=True)
    stats = {
        "rows_in": len(frame),
        "rows_empty": int(empty.sum()),
        "rows_duplicate": int(duplicate.sum()),
        "rows_out": len(kept),
    }
    return kept, stats


def positive_mask(frame: pd.DataFrame, column: str, threshold: float) -> np.ndarray:
    return frame[column].to_numpy() >= threshold


def split_frame(
    frame: pd.DataFrame, stratify_column: str, threshold: float, split: SplitConfig
) -> dict[str, pd.DataFrame]:
    """train/val/test with the same positive rate in each; every stratum is cut the same way.

    Rows whose SPLIT_COLUMN names a split keep it; only the others are cut at random.
    """
    rng = np.random.default_rng(split.seed)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in SPLITS}
    assigned = np.zeros(len(frame), dtype=bool)
    if SPLIT_COLUMN in frame.columns:
        for name in SPLITS:
            given = (frame[SPLIT_COLUMN] == name).to_numpy()
            parts[name].append(np.flatnonzero(given))
            assigned |= given
        frame = frame.drop(columns=SPLIT_COLUMN)
    positive = positive_mask(frame, stratify_column, threshold)
    for stratum in (positive & ~assigned, ~positive & ~assigned):
        indices = rng.permutation(np.flatnonzero(stratum))
        n_test = int(round(len(indices) * split.test_fraction))
        n_val = int(round(len(indices) * split.val_fraction))
        parts["test"].append(indices[:n_test])
        parts["val"].append(indices[n_test : n_test + n_val])
        parts["train"].append(indices[n_test + n_val :])
    splits = {
        name: frame.iloc[np.sort(np.concatenate(chunks))].reset_index(drop=True)
        for name, chunks in parts.items()
    }
    for name, part in splits.items():
        if part.empty:
            raise SchemaError(
                f"the {name} split is empty: {len(frame)} rows are too few for the split fractions"
            )
    return splits


def profile(splits: dict[str, pd.DataFrame], labels: list[str], threshold: float) -> dict[str, Any]:
    """Sizes, label rates and text-length percentiles per split, for the data profile artifact."""
    result: dict[str, Any] = {}
    for name, part in splits.items():
        chars = part[TEXT].str.len()
        words = part[TEXT].str.split().str.len()
        result[name] = {
            "rows": len(part),
            "label_positive_rate": {
                label: float((part[label] >= threshold).mean()) for label in labels
            },
            "label_mean": {label: float(part[label].mean()) for label in labels},
            "label_missing": {label: int(part[label].isna().sum()) for label in labels},
            "chars_percentiles": {
                f"p{q}": float(np.percentile(chars, q)) for q in (5, 25, 50, 75, 95, 99)
            },
            "words_percentiles": {
                f"p{q}": float(np.percentile(words, q)) for q in (5, 25, 50, 75, 95, 99)
            },
        }
    return result


def as_text_frame(frame: pd.DataFrame, dataset: DatasetConfig) -> pd.DataFrame:
    """A batch in the splits' layout: `text` plus whichever label columns it has."""
    labels = [label for label in dataset.label_columns if label in frame.columns]
    data = pd.DataFrame({TEXT: frame[dataset.text_column].astype(str)})
    for label in labels:
        data[label] = pd.to_numeric(frame[label], errors="coerce")
    return data


def combine(
    reference: dict[str, pd.DataFrame], batch: pd.DataFrame, text_column: str
) -> pd.DataFrame:
    """Reference rows (source column names, each marked with its split) and then the new batch.

    The marks keep Production's validation and test rows out of the new training split, so the
    gate's comparison on the new validation split does not favour either model.
    """
    old = pd.concat(
        [part.assign(**{SPLIT_COLUMN: name}) for name, part in reference.items()],
        ignore_index=True,
    ).rename(columns={TEXT: text_column})
    new = batch[[c for c in old.columns if c in batch.columns]]
    return pd.concat([old, new], ignore_index=True)


def save_splits(splits: dict[str, pd.DataFrame], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, part in splits.items():
        part.to_parquet(directory / f"{name}.parquet", index=False)


def load_splits(directory: Path) -> dict[str, pd.DataFrame]:
    missing = [name for name in SPLITS if not (directory / f"{name}.parquet").is_file()]
    if missing:
        raise SchemaError(f"{directory}: missing split files {[f'{m}.parquet' for m in missing]}")
    return {name: pd.read_parquet(directory / f"{name}.parquet") for name in SPLITS}

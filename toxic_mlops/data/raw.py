"""The download step's computation: standardise the fetched rows and keep a stratified sample."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from toxic_mlops.config import DatasetConfig
from toxic_mlops.data.dataset import standardize
from toxic_mlops.data.download import stratified_sample


@dataclass(frozen=True)
class RawSample:
    sample: pd.DataFrame
    rows_source: int
    rows_unlabelled: int
    fraction: float
    positive_rates: dict[str, float]  # per label present, in the sample

    def metrics(self) -> dict[str, float]:
        return {
            "rows_source": self.rows_source,
            "rows_unlabelled": self.rows_unlabelled,
            "rows_sampled": len(self.sample),
            **{f"positive_rate_{label}": rate for label, rate in self.positive_rates.items()},
        }


def sample_raw(
    frame: pd.DataFrame, dataset: DatasetConfig, fraction: float, seed: int
) -> RawSample:
    """Aliases and label values mapped, then the same fraction of positives and of the rest."""
    frame, unlabelled = standardize(frame, dataset)
    threshold = dataset.positive_threshold
    sample = stratified_sample(frame, dataset.stratify_column, threshold, fraction, seed)
    rates = {
        label: float((pd.to_numeric(sample[label], errors="coerce") >= threshold).mean())
        for label in dataset.label_columns
        if label in sample.columns
    }
    return RawSample(sample, len(frame), unlabelled, fraction, rates)

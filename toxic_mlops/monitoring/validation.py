"""Checks on a batch of data before it is used: hard failures stop, soft warnings are reported."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pyfunc.text import Normalizer
from toxic_mlops.config import DatasetConfig, ValidationPolicy
from toxic_mlops.data.dataset import TEXT, positive_mask, schema_problems
from toxic_mlops.monitoring.drift import psi_beyond_chance
from toxic_mlops.monitoring.reports import Check, Report

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass
class ValidationReport(Report):
    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]

    @property
    def warnings(self) -> list[Check]:
        return [c for c in self.checks if c.status == WARN]

    def headline(self) -> str:
        return (
            f"{self.rows:,} rows, {len(self.failures)} failure(s), {len(self.warnings)} warning(s)."
        )

    def summary(self) -> str:
        flagged = self.failures + self.warnings
        return "; ".join(f"{c.name}: {c.detail}" for c in flagged) or "all checks passed"


def word_counts(texts: pd.Series, normalizer: Normalizer) -> np.ndarray:
    return np.array([len(normalizer(text).split()) for text in texts])


def _share_check(name: str, count: int, rows: int, limit: float, what: str) -> Check:
    share = count / rows if rows else 0.0
    status = WARN if share > limit else OK
    return Check(name, status, f"{count:,} {what} ({share:.1%}; warn above {limit:.0%})", share)


def validate_batch(
    frame: pd.DataFrame,
    dataset: DatasetConfig,
    normalizer: Normalizer,
    policy: ValidationPolicy,
    reference: pd.DataFrame | None = None,
    require_labels: bool = True,
) -> ValidationReport:
    """Schema (hard), empties, duplicates, label rates and text lengths against the reference.

    frame is a standardised batch (the config's column names); reference has the splits' columns.
    """
    report = ValidationReport(rows=len(frame))
    problems = schema_problems(frame, dataset, require_labels)
    report.checks.append(
        Check("schema", FAIL if problems else OK, "; ".join(problems) or "ok", len(problems))
    )
    if problems:
        return report  # the other checks assume the schema holds

    normalized = frame[dataset.text_column].map(normalizer)
    empty = normalized.str.len() == 0
    report.checks.append(
        _share_check("empty texts", int(empty.sum()), len(frame), policy.max_empty_share, "empty")
    )
    duplicates = int((normalized.duplicated() & ~empty).sum())
    report.checks.append(
        _share_check(
            "duplicates", duplicates, len(frame), policy.max_duplicate_share, "repeated texts"
        )
    )
    if reference is None:
        return report

    report.checks += _label_rate_checks(frame, reference, dataset, policy)
    length_psi = psi_beyond_chance(
        word_counts(reference[TEXT], normalizer),
        word_counts(frame[dataset.text_column], normalizer),
    )
    report.checks.append(
        Check(
            "text length",
            WARN if length_psi > policy.max_length_psi else OK,
            f"PSI {length_psi:.3f} of words per text vs reference "
            f"(warn above {policy.max_length_psi})",
            length_psi,
        )
    )
    return report


def _label_rate_checks(
    frame: pd.DataFrame, reference: pd.DataFrame, dataset: DatasetConfig, policy: ValidationPolicy
) -> list[Check]:
    """Per label the batch has: its positive rate against the reference's."""
    checks = []
    threshold = dataset.positive_threshold
    for label in dataset.label_columns:
        if label not in frame.columns:
            continue
        values = pd.to_numeric(frame[label], errors="coerce").dropna()
        batch_rate = float((values >= threshold).mean()) if len(values) else float("nan")
        reference_rate = float(
            positive_mask(reference.dropna(subset=[label]), label, threshold).mean()
        )
        change = abs(batch_rate - reference_rate)
        status = WARN if change > policy.max_label_rate_change else OK
        checks.append(
            Check(
                f"label rate {label}",
                status,
                f"{batch_rate:.3f} vs reference {reference_rate:.3f} "
                f"(warn above a change of {policy.max_label_rate_change})",
                change,
            )
        )
    return checks

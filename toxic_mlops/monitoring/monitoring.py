"""Drift monitoring: a new batch of comments against the data the Production model learnt from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pyfunc.scoring import Scorer
from toxic_mlops.config import MonitorPolicy
from toxic_mlops.data.dataset import TEXT
from toxic_mlops.evaluation.metrics import known_truth, macro, roc_auc_per_label
from toxic_mlops.monitoring.drift import (
    js_divergence,
    psi_beyond_chance,
    token_counts,
    unseen_share,
)
from toxic_mlops.monitoring.reports import Check, Report
from toxic_mlops.plots import shift_histograms

OK, DRIFT, DEGRADED = "ok", "drift", "degraded"
# Exit codes of `python -m steps.monitor --fail-on ...` for schedulers (1 and 2: errors, usage).
EXIT_CODES = {OK: 0, DRIFT: 3, DEGRADED: 4}
SEVERITY = {OK: 0, DRIFT: 1, DEGRADED: 2}


@dataclass
class MonitorReport(Report):
    # For the report's plots: Production scores and words per comment, test split vs batch.
    reference_scores: np.ndarray | None = None
    batch_scores: np.ndarray | None = None
    reference_lengths: np.ndarray | None = None
    batch_lengths: np.ndarray | None = None

    @property
    def verdict(self) -> str:
        return max((c.status for c in self.checks), key=SEVERITY.get, default=OK)

    def metrics(self) -> dict[str, float]:
        return {
            "monitor_" + c.name.replace(" ", "_"): c.value
            for c in self.checks
            if np.isfinite(c.value)
        }

    def headline(self) -> str:
        return f"Verdict: **{self.verdict}** on {self.rows:,} comments."

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, **super().to_dict()}


def monitor_figures(report: MonitorReport, labels: list[str]) -> tuple[Figure, Figure]:
    """Production's scores and words per comment: reference test split against the batch."""
    scores = shift_histograms(report.reference_scores, report.batch_scores, labels, "score")
    lengths = shift_histograms(
        report.reference_lengths, report.batch_lengths, ["comment length"], "words"
    )
    return scores, lengths


def _flag(name: str, value: float, limit: float, detail: str, status: str = DRIFT) -> Check:
    return Check(name, status if value > limit else OK, f"{detail} (limit {limit})", value)


def _sample(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    return frame if len(frame) <= rows else frame.sample(rows, random_state=0)


def _countable_auc(
    targets: np.ndarray, scores: np.ndarray, labels: list[str], threshold: float, minimum: int
) -> dict[str, float]:
    aucs = roc_auc_per_label(targets, scores, labels, threshold)
    for column, label in enumerate(labels):
        _, truth = known_truth(targets, column, threshold)
        if min(truth.sum(), (~truth).sum()) < minimum:
            aucs[label] = float("nan")
    return aucs


def monitor_batch(
    batch: pd.DataFrame,
    reference_train: pd.DataFrame,
    reference_test: pd.DataFrame,
    scorer: Scorer,
    logged_test_auc: dict[str, float],
    threshold: float,
    policy: MonitorPolicy,
) -> MonitorReport:
    """Covariate, prediction and (when batch has label columns) concept drift checks.

    batch and the references have a `text` column; the batch's label columns are optional.
    """
    train = _sample(reference_train, policy.sample_rows)
    test = _sample(reference_test, policy.sample_rows)
    report = MonitorReport(rows=len(batch))
    _covariate_checks(report, batch[TEXT].tolist(), train, test, scorer, policy)
    # Prediction drift: how the Production model's scores moved.
    report.reference_scores = scorer.predict_proba(test[TEXT].tolist())
    report.batch_scores = scorer.predict_proba(batch[TEXT].tolist())
    for column, label in enumerate(scorer.spec.labels):
        value = psi_beyond_chance(
            report.reference_scores[:, column], report.batch_scores[:, column]
        )
        report.checks.append(
            _flag(f"score psi {label}", value, policy.max_prediction_psi, "scores vs test split")
        )
    # Concept drift: only labelled batches can say whether the model is still right.
    if any(label in batch.columns for label in scorer.spec.labels):
        _concept_checks(
            report, batch, train, scorer.spec.labels, logged_test_auc, threshold, policy
        )
    return report


def _covariate_checks(
    report: MonitorReport,
    batch_texts: list[str],
    train: pd.DataFrame,
    test: pd.DataFrame,
    scorer: Scorer,
    policy: MonitorPolicy,
) -> None:
    """What the comments look like, before any model sees them: tokens, words, lengths."""
    encoder = scorer.encoder
    train_texts, test_texts = train[TEXT].tolist(), test[TEXT].tolist()
    batch_ids, train_ids = encoder.encode(batch_texts), encoder.encode(train_texts)
    token_js = js_divergence(token_counts(train_ids), token_counts(batch_ids))
    report.checks.append(
        _flag("token js", token_js, policy.max_token_js, "token frequencies vs training data")
    )
    known = {w for text in encoder.normalize(train_texts) for w in text.split()}
    batch_words = [text.split() for text in encoder.normalize(batch_texts)]
    test_words = [text.split() for text in encoder.normalize(test_texts)]
    unseen, unseen_test = unseen_share(known, batch_words), unseen_share(known, test_words)
    report.checks.append(
        _flag(
            "unseen words",
            unseen - unseen_test,
            policy.max_unseen_word_increase,
            f"{unseen:.1%} of words never seen in training, vs {unseen_test:.1%} in its test split",
        )
    )
    report.reference_lengths = np.array([[len(words)] for words in test_words])
    report.batch_lengths = np.array([[len(words)] for words in batch_words])
    length_psi = psi_beyond_chance(report.reference_lengths[:, 0], report.batch_lengths[:, 0])
    report.checks.append(
        _flag("length psi", length_psi, policy.max_length_psi, "words per comment vs test split")
    )


def _concept_checks(
    report: MonitorReport,
    batch: pd.DataFrame,
    train: pd.DataFrame,
    labels: list[str],
    logged_test_auc: dict[str, float],
    threshold: float,
    policy: MonitorPolicy,
) -> None:
    """Label rates against training, and the batch ROC-AUC against the logged test AUC."""
    for label in [label for label in labels if label in batch.columns]:
        known_rows = batch[label].dropna()
        rate = float((known_rows >= threshold).mean()) if len(known_rows) else float("nan")
        reference_rate = float((train[label].dropna() >= threshold).mean())
        report.checks.append(
            _flag(
                f"label rate {label}",
                abs(rate - reference_rate),
                policy.max_label_rate_change,
                f"{rate:.3f} positive vs {reference_rate:.3f} in training",
            )
        )
    targets = batch.reindex(columns=labels).to_numpy(dtype=np.float32)
    aucs = _countable_auc(targets, report.batch_scores, labels, threshold, policy.min_positives)
    scored = [
        label
        for label in labels
        if np.isfinite(aucs[label]) and np.isfinite(logged_test_auc.get(label, np.nan))
    ]
    if scored:
        batch_auc = macro({label: aucs[label] for label in scored})
        test_auc = macro({label: logged_test_auc[label] for label in scored})
        report.checks.append(
            _flag(
                "auc drop",
                test_auc - batch_auc,
                policy.max_auc_drop,
                f"macro ROC-AUC over the {len(scored)} labels with {policy.min_positives}+ "
                f"positives and negatives in the batch ({', '.join(scored)}): {batch_auc:.4f} "
                f"on the batch vs {test_auc:.4f} on the model's test split",
                status=DEGRADED,
            )
        )

"""Data behaviour: what a new batch must pass before it is used, and what only warns."""

import pandas as pd

from pyfunc.text import Normalizer
from tests.synthetic import LABELS, SPORTS, make_comments
from toxic_mlops.config import DatasetConfig
from toxic_mlops.monitoring.validation import FAIL, OK, WARN, ValidationPolicy, validate_batch

DATASET = DatasetConfig("synthetic", "text", LABELS)
POLICY = ValidationPolicy()


def statuses(report) -> dict[str, str]:
    return {check.name: check.status for check in report.checks}


def test_a_batch_like_the_reference_passes() -> None:
    report = validate_batch(
        make_comments(600, seed=1), DATASET, Normalizer(), POLICY, make_comments(800, seed=2)
    )
    assert not report.failures and not report.warnings, report.to_markdown("x")
    assert set(statuses(report)) == {"schema", "empty texts", "duplicates", "text length"} | {
        f"label rate {label}" for label in LABELS
    }


def test_schema_problems_are_hard_failures_that_name_each_problem() -> None:
    batch = make_comments(50).drop(columns=["threat"])
    batch.loc[3, "insult"] = 1.7
    report = validate_batch(batch, DATASET, Normalizer(), POLICY)
    assert [c.name for c in report.failures] == ["schema"]
    assert "label column 'threat' is missing" in report.failures[0].detail
    assert "'insult' has 1 values outside [0, 1]" in report.failures[0].detail
    # Unlabelled batches can be monitored: without required labels the missing column is fine.
    unlabelled = make_comments(50).drop(columns=LABELS)
    assert not validate_batch(
        unlabelled, DATASET, Normalizer(), POLICY, require_labels=False
    ).failures


def test_empties_duplicates_label_rates_and_lengths_warn() -> None:
    reference = make_comments(800, seed=2)
    batch = make_comments(300, seed=4, neutral=SPORTS, words_per_comment=(40, 60))
    batch = pd.concat(
        [batch, batch.iloc[:60], batch.iloc[:30].assign(text="  ")], ignore_index=True
    )
    batch["toxicity"] = 1.0  # every comment toxic: the positive rate jumps
    report = validate_batch(batch, DATASET, Normalizer(), POLICY, reference)
    found = statuses(report)
    assert found["schema"] == OK
    assert found["duplicates"] == found["empty texts"] == WARN
    assert found["label rate toxicity"] == found["text length"] == WARN
    assert not report.failures and "warn" in report.to_markdown("batch")
    assert report.to_dict()["rows"] == len(batch)
    assert FAIL not in found.values()

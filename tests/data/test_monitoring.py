"""Model behaviour under drift: the monitor tells an ordinary batch from a shifted or wrong one."""

import pytest

from tests.synthetic import LABELS, SPORTS, flip_labels, make_comments
from toxic_mlops.data.dataset import TEXT
from toxic_mlops.evaluation.metrics import roc_auc_per_label
from toxic_mlops.monitoring.monitoring import DEGRADED, DRIFT, OK, MonitorPolicy, monitor_batch

POLICY = MonitorPolicy(min_positives=5)


@pytest.fixture(scope="module")
def logged_test_auc(tiny_model) -> dict[str, float]:
    scorer, splits = tiny_model
    test = splits["test"]
    return roc_auc_per_label(
        test[LABELS].to_numpy(), scorer.predict_proba(test[TEXT].tolist()), LABELS, 0.5
    )


def monitor(tiny_model, logged_test_auc, batch):
    scorer, splits = tiny_model
    return monitor_batch(
        batch, splits["train"], splits["test"], scorer, logged_test_auc, 0.5, POLICY
    )


def test_a_batch_from_the_same_source_is_ok(tiny_model, logged_test_auc) -> None:
    report = monitor(tiny_model, logged_test_auc, make_comments(500, seed=21))
    assert report.verdict == OK, report.to_markdown("same source")
    assert {f.name for f in report.checks} >= {"token js", "unseen words", "auc drop"}


def test_a_batch_without_labels_is_checked_for_covariate_and_prediction_drift(
    tiny_model, logged_test_auc
) -> None:
    report = monitor(tiny_model, logged_test_auc, make_comments(500, seed=22)[[TEXT]])
    assert report.verdict == OK
    assert not any(f.name.startswith(("label rate", "auc")) for f in report.checks)


def test_a_shifted_batch_is_drift(tiny_model, logged_test_auc) -> None:
    shifted = make_comments(500, seed=23, neutral=SPORTS, words_per_comment=(30, 50))
    report = monitor(tiny_model, logged_test_auc, shifted[[TEXT]])
    assert report.verdict == DRIFT, report.to_markdown("shifted")
    flagged = {f.name for f in report.checks if f.status == DRIFT}
    assert {"token js", "unseen words", "length psi"} <= flagged


def test_a_batch_whose_labels_no_longer_follow_the_text_is_degraded(
    tiny_model, logged_test_auc
) -> None:
    report = monitor(tiny_model, logged_test_auc, flip_labels(make_comments(500, seed=24)))
    assert report.verdict == DEGRADED, report.to_markdown("flipped")
    drop = next(f for f in report.checks if f.name == "auc drop")
    assert drop.status == DEGRADED and drop.value > 0.5
    assert report.to_dict()["verdict"] == DEGRADED and "auc drop" in report.to_markdown("x")

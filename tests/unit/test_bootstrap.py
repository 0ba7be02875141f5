"""The bootstrap: exact on the unresampled rows, intervals that behave, paired win probabilities."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from toxic_mlops.config import EvaluationConfig
from toxic_mlops.evaluation.bootstrap import (
    _Ranked,
    intervals,
    rankable_labels,
    resample_counts,
    resampled_label_metrics,
    win_probability,
)
from toxic_mlops.evaluation.label_metrics import label_metrics

LABELS = ["toxic", "threat"]
SETTINGS = EvaluationConfig(bootstrap_resamples=400, bootstrap_seed=3)


def labelled(rows: int, seed: int = 0, signal: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Two labels (30 % and 5 % positive, a fifth of `threat` unknown) and noisy scores."""
    rng = np.random.default_rng(seed)
    targets = (rng.random((rows, 2)) < [0.3, 0.05]).astype(float)
    targets[rng.random(rows) < 0.2, 1] = np.nan
    scores = 1 / (1 + np.exp(-(signal * np.nan_to_num(targets) * 2 + rng.normal(size=(rows, 2)))))
    return targets, np.round(scores, 2)  # rounded: ties between rows


def test_resamples_draw_every_row_count_with_replacement_and_repeat_with_the_seed() -> None:
    settings = EvaluationConfig(bootstrap_resamples=7, bootstrap_seed=1)
    first = np.concatenate(list(resample_counts(50, settings)))
    again = np.concatenate(list(resample_counts(50, settings)))
    assert first.shape == (7, 50) and (first.sum(axis=1) == 50).all()
    assert (first == again).all() and (first == 0).any()  # some rows left out, others repeated


def test_weighted_aucs_match_scikit_learn_with_ties() -> None:
    targets, scores = labelled(300)
    truth = targets[:, 0] >= 0.5
    roc, average = _Ranked(truth, scores[:, 0]).roc_pr_auc(np.ones((1, 300)))
    assert roc[0] == pytest.approx(roc_auc_score(truth, scores[:, 0]), abs=1e-12)
    assert average[0] == pytest.approx(average_precision_score(truth, scores[:, 0]), abs=1e-12)
    # A row drawn twice counts twice: the same as duplicating it.
    weights = np.ones((1, 300))
    weights[0, :10] = 2
    twice = np.r_[np.arange(300), np.arange(10)]
    doubled = _Ranked(truth, scores[:, 0]).roc_pr_auc(weights)[0][0]
    assert doubled == pytest.approx(roc_auc_score(truth[twice], scores[twice, 0]), abs=1e-12)


def test_threshold_metrics_per_resample_agree_with_label_metrics_on_a_resample() -> None:
    targets, scores = labelled(200)
    thresholds = {"toxic": 0.6, "threat": 0.7}
    settings = EvaluationConfig(bootstrap_resamples=1, bootstrap_seed=5)
    (counts,) = resample_counts(200, settings)
    rows = np.repeat(np.arange(200), counts[0].astype(int))
    direct = label_metrics(targets[rows], scores[rows], LABELS, thresholds, 0.5)
    resampled = resampled_label_metrics(targets, scores, LABELS, thresholds, 0.5, settings)
    for name in ("roc_auc_threat", "pr_auc_toxic", "f1_toxic", "recall_threat", "macro_roc_auc"):
        assert resampled[name][0] == pytest.approx(direct[name], abs=1e-12), name


def test_intervals_contain_the_point_estimate_and_narrow_with_more_rows() -> None:
    thresholds = dict.fromkeys(LABELS, 0.6)
    widths = []
    for rows in (400, 4000):
        targets, scores = labelled(rows)
        point = label_metrics(targets, scores, LABELS, thresholds, 0.5)
        resampled = resampled_label_metrics(targets, scores, LABELS, thresholds, 0.5, SETTINGS)
        ci = intervals(resampled, SETTINGS.confidence)
        for name in ("roc_auc_toxic", "roc_auc_threat", "pr_auc_toxic", "f1_threat", "macro_f1"):
            assert ci[f"{name}_ci_low"] <= point[name] <= ci[f"{name}_ci_high"], (rows, name)
        widths.append(ci["roc_auc_threat_ci_high"] - ci["roc_auc_threat_ci_low"])
    assert widths[1] < widths[0] / 2  # ten times the rows: about 1/sqrt(10) of the width


def test_a_clearly_better_scorer_wins_and_identical_scorers_tie() -> None:
    targets, good = labelled(1000, signal=2.0)
    _, weak = labelled(1000, seed=1, signal=0.3)
    assert win_probability(targets, good, weak, LABELS, 0.5, SETTINGS) == 1.0
    assert win_probability(targets, weak, good, LABELS, 0.5, SETTINGS) == 0.0
    assert win_probability(targets, good, good, LABELS, 0.5, SETTINGS) == 0.5


def test_win_probabilities_of_close_scorers_are_complementary_and_not_certain() -> None:
    targets, first = labelled(300, signal=1.0)
    rng = np.random.default_rng(9)
    second = np.clip(first + rng.normal(scale=0.05, size=first.shape), 0, 1)
    forward = win_probability(targets, first, second, LABELS, 0.5, SETTINGS)
    backward = win_probability(targets, second, first, LABELS, 0.5, SETTINGS)
    assert forward + backward == pytest.approx(1.0)
    assert 0.02 < forward < 0.98  # a hair's difference on 300 rows is not a certain win


def test_labels_with_a_handful_of_positives_do_not_decide_a_win() -> None:
    targets, good = labelled(1000, signal=2.0)
    _, weak = labelled(1000, seed=1, signal=0.3)
    scarce = targets.copy()
    scarce[:, 1] = np.where(np.arange(1000) < 3, 1.0, 0.0)  # threat: 3 positives
    assert rankable_labels(scarce, LABELS, 0.5, 20) == ["toxic"]
    assert rankable_labels(scarce, LABELS, 0.5, 2) == LABELS
    assert rankable_labels(scarce[:, 1:], ["threat"], 0.5, 20) == ["threat"]  # none: all
    # The weak scorer ranks the 3 threat positives first: it "wins" that label, every resample.
    weak = weak.copy()
    weak[:3, 1], weak[3:, 1] = 1.0, 0.0
    strict = EvaluationConfig(bootstrap_resamples=200, min_positives=0)
    assert win_probability(scarce, weak, good, ["toxic", "threat"], 0.5, strict) > 0.0
    assert win_probability(scarce, weak, good, ["toxic", "threat"], 0.5, SETTINGS) == 0.0

"""Evaluation maths: bias metric against hand-computed values, thresholds, baseline, gate."""

import time

import numpy as np
import pandas as pd
import pytest

from pyfunc.text import Normalizer
from tests.synthetic import LABELS
from toxic_mlops.evaluation.baseline import TfidfBaseline
from toxic_mlops.evaluation.bias import bias_aucs, final_bias_score, power_mean
from toxic_mlops.evaluation.label_metrics import inference_cost, label_metrics, tune_thresholds

# y = toxic label, s = score, g and h = identity mentions.
TABLE = pd.DataFrame(
    {
        "y": [1, 0, 1, 0, 1, 0],
        "s": [0.9, 0.8, 0.7, 0.2, 0.6, 0.1],
        "g": [1, 1, 0, 0, 1, 0],
        "h": [0, 0, 1, 1, 0, 0],
    }
)


def test_bias_aucs_match_hand_computed_values() -> None:
    result = bias_aucs(TABLE, "s", "y", ["g", "h"]).set_index("identity")
    # g: subgroup {.9+, .8-, .6+} -> 1 of 2 pairs; BPSN {.7+} vs {.8-} -> 0;
    #    BNSP {.9,.6} vs {.2,.1} -> 1
    assert result.loc["g"].tolist() == [3, 0.5, 0.0, 1.0]
    # h: subgroup {.7+, .2-} -> 1; BPSN {.9,.6} vs {.2} -> 1; BNSP {.7} vs {.8,.1} -> 0.5
    assert result.loc["h"].tolist() == [2, 1.0, 1.0, 0.5]


def test_final_score_matches_hand_computed_value() -> None:
    per_identity = bias_aucs(TABLE, "s", "y", ["g", "h"])
    overall = 7 / 9  # 7 of the 9 positive/negative pairs are ordered right
    # power means (p=-5): subgroup (0.5, 1) -> 16.5^-0.2; BPSN (0, 1) -> 0;
    # BNSP (1, 0.5) -> 16.5^-0.2
    assert power_mean([0.5, 1.0]) == pytest.approx(0.5708253, abs=1e-6)
    assert power_mean([0.0, 1.0]) == 0.0
    assert final_bias_score(overall, per_identity) == pytest.approx(0.4798571, abs=1e-6)


def test_thresholds_maximise_f1_on_validation() -> None:
    targets = np.array([[1.0], [1.0], [0.0], [0.0], [0.0]])
    scores = np.array([[0.9], [0.4], [0.35], [0.2], [0.1]])
    threshold = tune_thresholds(targets, scores, ["y"], 0.5)["y"]
    assert threshold == pytest.approx(0.4)  # catches both positives, no false positive
    metrics = label_metrics(targets, scores, ["y"], {"y": threshold}, 0.5)
    assert metrics["f1_y"] == metrics["precision_y"] == metrics["recall_y"] == 1.0
    assert metrics["roc_auc_y"] == 1.0 and metrics["positive_rate_y"] == 0.4
    assert metrics["accuracy_y"] == 1.0
    assert metrics["macro_roc_auc"] == 1.0


def test_one_class_labels_are_nan_not_errors() -> None:
    targets = np.array([[0.0, 1.0], [0.0, 0.0]])
    scores = np.array([[0.2, 0.9], [0.1, 0.1]])
    thresholds = tune_thresholds(targets, scores, ["a", "b"], 0.5)
    metrics = label_metrics(targets, scores, ["a", "b"], thresholds, 0.5)
    assert np.isnan(metrics["roc_auc_a"]) and metrics["macro_roc_auc"] == 1.0


def test_baseline_learns_the_synthetic_signal(comments: pd.DataFrame) -> None:
    train, test = comments.iloc[:900], comments.iloc[900:]
    baseline = TfidfBaseline(Normalizer()).fit(
        train["text"].tolist(), train[LABELS].to_numpy(), 0.5
    )
    probabilities = baseline.predict_proba(test["text"].tolist())
    assert probabilities.shape == (len(test), len(LABELS))
    metrics = label_metrics(
        test[LABELS].to_numpy(), probabilities, LABELS, dict.fromkeys(LABELS, 0.5), 0.5
    )
    assert metrics["roc_auc_toxicity"] > 0.9


def test_inference_cost_times_single_comments_and_batches_of_256() -> None:
    calls: list[int] = []

    def predict(texts: list[str]) -> list[int]:
        calls.append(len(texts))
        time.sleep(0.005)  # 5 ms a call, whatever its size
        return [len(t) for t in texts]

    cost = inference_cost(predict, ["a", "bb"], singles=10)
    # One warm-up, 10 single comments, one warm-up batch, the best of 3 timed batches.
    assert calls == [1] + [1] * 10 + [256] * 4
    assert 5 <= cost["latency_p50_ms"] < 100
    assert 256 / 0.1 < cost["comments_per_s"] <= 256 / 0.005

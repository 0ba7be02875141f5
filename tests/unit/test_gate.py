"""The promotion gate's decision: pure rules over the candidate's and Production's figures."""

import pytest

from toxic_mlops.config import GatePolicy
from toxic_mlops.evaluation.gate import Figures, decide_promotion

POLICY = GatePolicy(metric="val_macro_roc_auc", min_win_probability=0.9, max_slowdown=1.5)
NAN = float("nan")


def figures(score, baseline, speed, p_baseline=NAN, p_production=NAN) -> Figures:
    return Figures(score, baseline, speed, p_baseline, p_production)


@pytest.mark.parametrize(
    ("candidate", "incumbent", "promote", "says"),
    [
        (figures(0.80, 0.75, 100, 0.97), None, True, "no Production version yet"),
        (figures(0.80, 0.75, 100, 0.97), None, True, "P(better than TF-IDF baseline) = 0.97 >="),
        # A point win inside the noise of the split is not an improvement.
        (figures(0.804, 0.80, 100, 0.62), None, False, "FAILED: P(better than TF-IDF baseline)"),
        # Evaluate runs made before the bootstrap: the point values stand in, a tie is not a win.
        (figures(0.80, 0.85, 100), None, False, "= 0.00 < 0.90 (no paired bootstrap: point"),
        (figures(0.80, 0.80, 100), None, False, "= 0.50 < 0.90"),
        (figures(0.81, 0.80, 100), None, True, "= 1.00 >= 0.90 (no paired bootstrap"),
        (
            figures(0.83, 0.7, 100, 0.99, 0.62),
            figures(0.80, 0.7, 100),
            False,
            "FAILED: P(better than Production) = 0.62 < 0.90 (paired bootstrap on val; "
            "val_macro_roc_auc 0.8300 vs 0.8000)",
        ),
        (figures(0.83, 0.7, 100, 0.99, 0.95), figures(0.80, 0.7, 100), True, "= 0.95 >= 0.90"),
        # Production not scored on the candidate's split: its recorded figure, point comparison.
        (figures(0.80, 0.7, 100, 0.99), figures(0.80, 0.7, 100), False, "Production) = 0.50 <"),
        (figures(0.9, 0.7, 50, 0.99, 0.99), figures(0.8, 0.7, 100), False, "slowdown 2.00x"),
        (figures(0.9, 0.7, 70, 0.99, 0.99), figures(0.8, 0.7, 100), True, "slowdown 1.43x"),
        (figures(0.9, 0.7, 70, 0.99, 0.99), figures(0.8, 0.7, NAN), True, "Production unknown"),
        (figures(0.9, 0.7, 70, 0.99), figures(NAN, NAN, NAN), True, "of Production unknown"),
        (figures(NAN, 0.7, 70), None, False, "NaN"),
    ],
)
def test_promotion_gate(candidate, incumbent, promote, says) -> None:
    decision = decide_promotion(candidate, incumbent, POLICY)
    assert decision.promote is promote
    assert says in decision.reason


def test_gate_without_baseline_rule_and_with_a_lower_level() -> None:
    policy = GatePolicy(require_beat_baseline=False)
    assert decide_promotion(figures(0.6, 0.9, 10, 0.0), None, policy).promote
    lenient = GatePolicy(min_win_probability=0.5)
    assert decide_promotion(figures(0.8, 0.8, 10), figures(0.8, 0.7, 10), lenient).promote


def test_win_probabilities_become_version_tags_only_when_measured() -> None:
    measured = figures(0.8, 0.7, 100, 0.97, 0.91).as_tags("val_macro_roc_auc")
    assert measured["gate.p_better_than_baseline"] == "0.97"
    assert measured["gate.p_better_than_production"] == "0.91"
    assert "gate.p_better_than_production" not in figures(0.8, 0.7, 100, 0.97).as_tags("m")
    read = Figures.from_tags(measured, "val_macro_roc_auc")
    assert (read.score, read.baseline_score, read.comments_per_s) == (0.8, 0.7, 100)

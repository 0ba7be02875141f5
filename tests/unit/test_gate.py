"""The promotion gate's decision: pure rules over the candidate's and Production's figures."""

import math

import pytest

from toxic_mlops.config import GatePolicy
from toxic_mlops.evaluation.gate import Figures, decide_promotion

POLICY = GatePolicy(
    metric="val_macro_roc_auc", min_win_probability=0.9, max_slowdown=1.5, max_memory_growth=1.5
)
NAN = float("nan")


def figures(score, baseline, speed, p_baseline=NAN, p_production=NAN, peak=NAN) -> Figures:
    return Figures(score, baseline, speed, p_baseline, p_production, peak)


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


WINNER = figures(0.9, 0.7, 100, 0.99, 0.99, peak=600)


@pytest.mark.parametrize(
    ("incumbent", "promote", "says"),
    [
        (
            figures(0.8, 0.7, 100, peak=500),
            True,
            "peak memory 600 MB vs Production 500 MB (growth 1.20x, allowed 1.50x)",
        ),
        (figures(0.8, 0.7, 100, peak=400), True, "(growth 1.50x, allowed 1.50x)"),
        (
            figures(0.8, 0.7, 100, peak=300),
            False,
            "FAILED: peak memory 600 MB vs Production 300 MB (growth 2.00x, allowed 1.50x)",
        ),
        # Versions registered before memory was measured: not compared, as for speed.
        (figures(0.8, 0.7, 100), True, "peak memory of Production unknown: not compared"),
    ],
)
def test_a_candidate_needing_much_more_memory_than_production_is_refused(
    incumbent, promote, says
) -> None:
    decision = decide_promotion(WINNER, incumbent, POLICY)
    assert decision.promote is promote, decision.reason
    assert says in decision.reason
    assert "slowdown 1.00x" in decision.reason  # the speed rule is still there, beside it


def test_memory_unknown_on_either_side_is_not_compared() -> None:
    older = figures(0.9, 0.7, 100, 0.99, 0.99)  # an evaluate run made before the measurement
    decision = decide_promotion(older, figures(0.8, 0.7, 100, peak=500), POLICY)
    assert decision.promote
    assert "peak memory of the candidate unknown: not compared" in decision.reason
    both = decide_promotion(older, figures(0.8, 0.7, 100), POLICY).reason
    assert "peak memory of the candidate and Production unknown: not compared" in both
    # No Production version: nothing to compare the memory with.
    assert "peak memory" not in decide_promotion(WINNER, None, POLICY).reason


def test_the_memory_limit_is_the_policy_s() -> None:
    shrink = GatePolicy(max_memory_growth=0.9)  # a candidate must need less than Production
    decision = decide_promotion(WINNER, figures(0.8, 0.7, 100, peak=600), shrink)
    assert not decision.promote and "(growth 1.00x, allowed 0.90x)" in decision.reason


def test_win_probabilities_become_version_tags_only_when_measured() -> None:
    measured = figures(0.8, 0.7, 100, 0.97, 0.91).as_tags("val_macro_roc_auc")
    assert measured["gate.p_better_than_baseline"] == "0.97"
    assert measured["gate.p_better_than_production"] == "0.91"
    assert "gate.p_better_than_production" not in figures(0.8, 0.7, 100, 0.97).as_tags("m")
    read = Figures.from_tags(measured, "val_macro_roc_auc")
    assert (read.score, read.baseline_score, read.comments_per_s) == (0.8, 0.7, 100)


def test_peak_memory_is_a_version_tag_a_later_candidate_is_compared_with() -> None:
    tags = figures(0.8, 0.7, 100, 0.97, peak=512.5).as_tags("val_macro_roc_auc")
    assert tags["gate.peak_rss_mb"] == "512.5"
    assert Figures.from_tags(tags, "val_macro_roc_auc").peak_rss_mb == 512.5
    older = figures(0.8, 0.7, 100).as_tags("val_macro_roc_auc")
    assert "gate.peak_rss_mb" not in older
    assert math.isnan(Figures.from_tags(older, "val_macro_roc_auc").peak_rss_mb)

"""The promotion gate: what a candidate must show against the baseline and Production."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from toxic_mlops.config import GatePolicy
from toxic_mlops.contract import GATE_TAG_PREFIX

# As MLflow's MetricThreshold(min_absolute_change=...): beating the baseline means by this much.
MIN_GAIN_OVER_BASELINE = 1e-9


@dataclass(frozen=True)
class Figures:
    """What the gate compares: the model's score, its TF-IDF baseline's score, its speed."""

    score: float
    baseline_score: float
    comments_per_s: float

    def as_tags(self, metric: str) -> dict[str, str]:
        return {
            f"{GATE_TAG_PREFIX}{metric}": repr(self.score),
            f"{GATE_TAG_PREFIX}baseline_{metric}": repr(self.baseline_score),
            f"{GATE_TAG_PREFIX}comments_per_s": repr(self.comments_per_s),
        }

    @classmethod
    def from_tags(cls, tags: dict[str, str], metric: str) -> Figures | None:
        try:
            return cls(
                float(tags[f"{GATE_TAG_PREFIX}{metric}"]),
                float(tags[f"{GATE_TAG_PREFIX}baseline_{metric}"]),
                float(tags[f"{GATE_TAG_PREFIX}comments_per_s"]),
            )
        except KeyError:
            return None


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


def _beats_baseline(candidate: Figures, metric: str) -> tuple[bool, str]:
    """The candidate must exceed the baseline on the gate metric (a tie is not enough)."""
    if not candidate.score >= candidate.baseline_score + MIN_GAIN_OVER_BASELINE:
        return (
            False,
            f"{metric} {candidate.score:.4f} <= TF-IDF baseline {candidate.baseline_score:.4f}",
        )
    return True, f"{metric} {candidate.score:.4f} > TF-IDF baseline {candidate.baseline_score:.4f}"


def decide_promotion(
    candidate: Figures,
    incumbent: Figures | None,
    policy: GatePolicy,
    extra_checks: Sequence[tuple[bool, str]] = (),
) -> Decision:
    """Every rule is checked and reported; promotion needs all of them to pass. extra_checks:
    (passed, reason) of rules decided elsewhere (evaluation.bias.bias_gate_checks)."""
    metric = policy.metric
    if math.isnan(candidate.score):
        return Decision(False, f"candidate has no {metric} (NaN)")
    checks: list[tuple[bool, str]] = []
    if policy.require_beat_baseline:
        checks.append(_beats_baseline(candidate, metric))
    if incumbent is None:
        checks.append((True, "no Production version yet"))
    else:
        floor = incumbent.score - policy.max_regression
        checks.append(
            (
                math.isnan(incumbent.score) or candidate.score >= floor,
                f"{metric} {candidate.score:.4f} vs Production {incumbent.score:.4f} "
                f"(allowed down to {floor:.4f})",
            )
        )
        if math.isnan(incumbent.comments_per_s):
            checks.append((True, "speed of Production unknown: not compared"))
        else:
            slowdown = incumbent.comments_per_s / max(candidate.comments_per_s, 1e-9)
            checks.append(
                (
                    slowdown <= policy.max_slowdown,
                    f"{candidate.comments_per_s:.0f} comments/s vs Production "
                    f"{incumbent.comments_per_s:.0f} (slowdown {slowdown:.2f}x, "
                    f"allowed {policy.max_slowdown:.2f}x)",
                )
            )
    checks.extend(extra_checks)
    failed = [text for ok, text in checks if not ok]
    passed = [text for ok, text in checks if ok]
    if failed:
        passed_text = f"; passed: {'; '.join(passed)}" if passed else ""
        return Decision(False, f"FAILED: {'; '.join(failed)}{passed_text}")
    return Decision(True, "; ".join(passed))

"""The promotion gate: what a candidate must show against the baseline and Production."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from toxic_mlops.config import BiasConfig, GatePolicy
from toxic_mlops.contract import (
    BASELINE_METRIC_PREFIX,
    BASELINE_WIN_PROBABILITY_METRIC,
    GATE_TAG_PREFIX,
    PEAK_RSS_METRIC,
    PRODUCTION_WIN_PROBABILITY_METRIC,
)

NAN = float("nan")


@dataclass(frozen=True)
class Figures:
    """What the gate compares: the model's score, its TF-IDF baseline's score, its speed,
    P(its val macro ROC-AUC is higher) against the baseline and Production on the same rows
    (paired bootstrap) and its peak memory (MB, a fresh process loading it and scoring 1,000
    comments); NaN when not measured, e.g. versions registered before it existed."""

    score: float
    baseline_score: float
    comments_per_s: float
    p_better_than_baseline: float = NAN
    p_better_than_production: float = NAN
    peak_rss_mb: float = NAN

    def as_tags(self, metric: str) -> dict[str, str]:
        tags = {
            f"{GATE_TAG_PREFIX}{metric}": repr(self.score),
            f"{GATE_TAG_PREFIX}baseline_{metric}": repr(self.baseline_score),
            f"{GATE_TAG_PREFIX}comments_per_s": repr(self.comments_per_s),
        }
        for name, value in (
            (BASELINE_WIN_PROBABILITY_METRIC, self.p_better_than_baseline),
            (PRODUCTION_WIN_PROBABILITY_METRIC, self.p_better_than_production),
            (PEAK_RSS_METRIC, self.peak_rss_mb),
        ):
            if not math.isnan(value):
                tags[f"{GATE_TAG_PREFIX}{name}"] = repr(value)
        return tags

    @classmethod
    def from_tags(cls, tags: dict[str, str], metric: str) -> Figures | None:
        """A registered version's figures (its peak memory NaN when not recorded); None
        without gate figures."""
        try:
            return cls(
                float(tags[f"{GATE_TAG_PREFIX}{metric}"]),
                float(tags[f"{GATE_TAG_PREFIX}baseline_{metric}"]),
                float(tags[f"{GATE_TAG_PREFIX}comments_per_s"]),
                peak_rss_mb=float(tags.get(f"{GATE_TAG_PREFIX}{PEAK_RSS_METRIC}", NAN)),
            )
        except KeyError:
            return None


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


def _wins(
    probability: float, ours: float, theirs: float, other: str, metric: str, level: float
) -> tuple[bool, str]:
    """P(candidate better than other) >= level; without a paired bootstrap, the point values
    stand in for it (higher: 1, equal: 0.5, lower: 0) and the reason says so."""
    if math.isnan(probability):
        probability = 1.0 if ours > theirs else 0.5 if ours == theirs else 0.0
        basis = f"no paired bootstrap: point values, {metric} {ours:.4f} vs {theirs:.4f}"
    else:
        basis = f"paired bootstrap on val; {metric} {ours:.4f} vs {theirs:.4f}"
    passed = probability >= level
    sign = ">=" if passed else "<"
    return passed, f"P(better than {other}) = {probability:.2f} {sign} {level:.2f} ({basis})"


def _within(ratio: float, limit: float, ours: str, theirs: str, name: str) -> tuple[bool, str]:
    """A cost rule: ratio (how much more the candidate costs than Production) <= limit."""
    return (
        ratio <= limit,
        f"{ours} vs Production {theirs} ({name} {ratio:.2f}x, allowed {limit:.2f}x)",
    )


def _speed(candidate: Figures, incumbent: Figures, policy: GatePolicy) -> tuple[bool, str]:
    """Production's comments/s over the candidate's, at most policy.max_slowdown."""
    if math.isnan(incumbent.comments_per_s):
        return True, "speed of Production unknown: not compared"
    slowdown = incumbent.comments_per_s / max(candidate.comments_per_s, 1e-9)
    ours, theirs = f"{candidate.comments_per_s:.0f} comments/s", f"{incumbent.comments_per_s:.0f}"
    return _within(slowdown, policy.max_slowdown, ours, theirs, "slowdown")


def _memory(candidate: Figures, incumbent: Figures, policy: GatePolicy) -> tuple[bool, str]:
    """The candidate's peak memory over Production's, at most policy.max_memory_growth."""
    unknown = [
        who
        for who, figures in (("the candidate", candidate), ("Production", incumbent))
        if math.isnan(figures.peak_rss_mb)
    ]
    if unknown:
        return True, f"peak memory of {' and '.join(unknown)} unknown: not compared"
    growth = candidate.peak_rss_mb / max(incumbent.peak_rss_mb, 1e-9)
    ours, theirs = (f"{figures.peak_rss_mb:,.0f} MB" for figures in (candidate, incumbent))
    return _within(growth, policy.max_memory_growth, f"peak memory {ours}", theirs, "growth")


def _against_production(
    candidate: Figures, incumbent: Figures | None, policy: GatePolicy
) -> list[tuple[bool, str]]:
    """The candidate's score, speed and memory against the current Production version's."""
    if incumbent is None:
        return [(True, "no Production version yet")]
    metric = policy.metric
    if math.isnan(incumbent.score) and math.isnan(candidate.p_better_than_production):
        score = (True, f"{metric} of Production unknown: not compared")
    else:
        score = _wins(
            candidate.p_better_than_production,
            candidate.score,
            incumbent.score,
            "Production",
            metric,
            policy.min_win_probability,
        )
    return [score, _speed(candidate, incumbent, policy), _memory(candidate, incumbent, policy)]


def decide_promotion(
    candidate: Figures,
    incumbent: Figures | None,
    policy: GatePolicy,
    extra_checks: Sequence[tuple[bool, str]] = (),
) -> Decision:
    """Every rule is checked and reported; promotion needs all of them to pass. extra_checks:
    (passed, reason) of rules decided elsewhere (bias_gate_checks).

    Better means better with probability at least policy.min_win_probability, so a gain inside
    the noise of the validation split is not called an improvement.
    """
    if math.isnan(candidate.score):
        return Decision(False, f"candidate has no {policy.metric} (NaN)")
    checks: list[tuple[bool, str]] = []
    if policy.require_beat_baseline:
        checks.append(
            _wins(
                candidate.p_better_than_baseline,
                candidate.score,
                candidate.baseline_score,
                "TF-IDF baseline",
                policy.metric,
                policy.min_win_probability,
            )
        )
    checks += _against_production(candidate, incumbent, policy)
    checks.extend(extra_checks)
    failed = [text for ok, text in checks if not ok]
    passed = [text for ok, text in checks if ok]
    if failed:
        passed_text = f"; passed: {'; '.join(passed)}" if passed else ""
        return Decision(False, f"FAILED: {'; '.join(failed)}{passed_text}")
    return Decision(True, "; ".join(passed))


def bias_gate_checks(
    metrics: Mapping[str, float], production: float | None, settings: BiasConfig
) -> list[tuple[bool, str]]:
    """The gate's bias rules (bias.gate): no worse than the baseline ("baseline"), and than
    Production scored on the same split ("production"); none when "none"."""
    if settings.gate == "none":
        return []
    metric = settings.gate_metric
    score = metrics.get(metric, float("nan"))
    if score != score:
        return [(False, f"bias {metric}: not measured for the candidate")]
    references = {"TF-IDF baseline": metrics.get(BASELINE_METRIC_PREFIX + metric, float("nan"))}
    if settings.gate == "production" and production is not None:
        references["Production"] = production
    # Lower is better for a false-positive rate, higher for an AUC or the bias metric.
    lower_is_better = "fpr" in metric
    better = "lower" if lower_is_better else "higher"
    checks = []
    for name, reference in references.items():
        ok = reference != reference or (
            score <= reference if lower_is_better else score >= reference
        )
        text = f"bias {metric} {score:.4f} vs {name} {reference:.4f} ({better} is better)"
        checks.append((ok, text))
    return checks

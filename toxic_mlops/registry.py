"""Model registry: register a version, decide whether it replaces Production, promote it."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace

import mlflow
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import MetricThreshold
from mlflow.models.evaluation import EvaluationResult
from mlflow.models.evaluation.validation import ModelValidationFailedException
from mlflow.tracking import MlflowClient

from toxic_mlops.promotion_lock import promotion_lock

PRODUCTION_ALIAS = "production"
PRODUCTION_STAGE = "Production"
# The evaluate step scores the current Production version on the candidate's own split too:
# metric production_<gate metric>, and this tag names the version it scored (name/version).
PRODUCTION_METRIC_PREFIX = "production_"
PRODUCTION_SCORED_TAG = "evaluate.production_version"


@dataclass(frozen=True)
class GatePolicy:
    """configs/*.yaml `registry` section: what a candidate must show to become Production."""

    metric: str = "val_macro_roc_auc"
    max_regression: float = 0.0  # may be at most this much below Production on `metric`
    max_slowdown: float = 1.5  # Production comments/s divided by the candidate's, at most
    require_beat_baseline: bool = True


@dataclass(frozen=True)
class Figures:
    """What the gate compares: the model's score, its TF-IDF baseline's score, its speed."""

    score: float
    baseline_score: float
    comments_per_s: float

    def as_tags(self, metric: str) -> dict[str, str]:
        return {
            f"gate.{metric}": repr(self.score),
            f"gate.baseline_{metric}": repr(self.baseline_score),
            "gate.comments_per_s": repr(self.comments_per_s),
        }

    @classmethod
    def from_tags(cls, tags: dict[str, str], metric: str) -> Figures | None:
        try:
            return cls(
                float(tags[f"gate.{metric}"]),
                float(tags[f"gate.baseline_{metric}"]),
                float(tags["gate.comments_per_s"]),
            )
        except KeyError:
            return None


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


def _beats_baseline(candidate: Figures, metric: str) -> tuple[bool, str]:
    """MLflow's own validation: the candidate must exceed the baseline on the gate metric."""
    thresholds = {metric: MetricThreshold(min_absolute_change=1e-9, greater_is_better=True)}
    try:
        mlflow.validate_evaluation_results(
            thresholds,
            EvaluationResult(metrics={metric: candidate.score}, artifacts={}),
            EvaluationResult(metrics={metric: candidate.baseline_score}, artifacts={}),
        )
    except ModelValidationFailedException:
        return (
            False,
            f"{metric} {candidate.score:.4f} <= TF-IDF baseline {candidate.baseline_score:.4f}",
        )
    return True, f"{metric} {candidate.score:.4f} > TF-IDF baseline {candidate.baseline_score:.4f}"


def decide_promotion(candidate: Figures, incumbent: Figures | None, policy: GatePolicy) -> Decision:
    """Every rule is checked and reported; promotion needs all of them to pass."""
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
    failed = [text for ok, text in checks if not ok]
    passed = [text for ok, text in checks if ok]
    if failed:
        passed_text = f"; passed: {'; '.join(passed)}" if passed else ""
        return Decision(False, f"FAILED: {'; '.join(failed)}{passed_text}")
    return Decision(True, "; ".join(passed))


def current_production(client: MlflowClient, name: str) -> ModelVersion | None:
    """The version behind the `production` alias, else the one in stage Production."""
    try:
        return client.get_model_version_by_alias(name, PRODUCTION_ALIAS)
    except MlflowException:
        pass
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # stages are deprecated, still supported
            versions = client.get_latest_versions(name, stages=[PRODUCTION_STAGE])
    except MlflowException:
        return None
    return versions[0] if versions else None


def _run_metric(client: MlflowClient, run_id: str | None, metric: str) -> float:
    if not run_id:
        return float("nan")
    return float(client.get_run(run_id).data.metrics.get(metric, float("nan")))


def promote(client: MlflowClient, name: str, version: str) -> None:
    """Alias `production` AND stage Production (old one archived): both URI forms resolve."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        client.transition_model_version_stage(
            name, version, PRODUCTION_STAGE, archive_existing_versions=True
        )
    client.set_registered_model_alias(name, PRODUCTION_ALIAS, version)


def _incumbent_figures(
    client: MlflowClient,
    name: str,
    policy: GatePolicy,
    production_on_same_split: tuple[str, float] | None,
) -> Figures | None:
    incumbent_version = current_production(client, name)
    if incumbent_version is None:
        return None
    incumbent = Figures.from_tags(incumbent_version.tags, policy.metric) or Figures(
        # Registered without gate figures (by hand, or elsewhere): its run's metric, no speed.
        _run_metric(client, incumbent_version.run_id, policy.metric),
        float("nan"),
        float("nan"),
    )
    scored = f"{incumbent_version.name}/{incumbent_version.version}"
    if production_on_same_split and production_on_same_split[0] == scored:
        incumbent = replace(incumbent, score=production_on_same_split[1])
    return incumbent


def register_and_gate(
    model_uri: str,
    name: str,
    candidate: Figures,
    policy: GatePolicy,
    production_on_same_split: tuple[str, float] | None = None,
) -> tuple[ModelVersion, Decision]:
    """Register model_uri under name, promote it if the gate passes; tag figures and decision.

    production_on_same_split: ("name/version", score) of Production scored on the candidate's
    own split; used instead of Production's recorded score when it is that very version, so a
    retrained model on new data is compared on equal terms.
    """
    client = MlflowClient()
    # Read Production, decide and promote as one step: a concurrent register waits for it, then
    # meets the version promoted here as the Production to beat.
    with promotion_lock(client, name):
        incumbent = _incumbent_figures(client, name, policy, production_on_same_split)
        version = mlflow.register_model(model_uri, name)
        decision = decide_promotion(candidate, incumbent, policy)
        for key, value in {
            **candidate.as_tags(policy.metric),
            "promotion.decision": "promoted" if decision.promote else "kept",
            "promotion.reason": decision.reason,
        }.items():
            client.set_model_version_tag(name, version.version, key, value)
        if decision.promote:
            promote(client, name, version.version)
    return version, decision

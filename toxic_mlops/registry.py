"""Model registry: register a version, decide whether it replaces Production, promote it."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import mlflow
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

PRODUCTION_ALIAS = "production"
PRODUCTION_STAGE = "Production"


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str


def decide_promotion(candidate: float, current: float | None, metric: str) -> Decision:
    """Promote when there is no Production model or the candidate is at least as good."""
    if math.isnan(candidate):
        return Decision(False, f"candidate has no {metric} (NaN): not promoted")
    if current is None:
        return Decision(True, f"no Production version yet; candidate {metric}={candidate:.4f}")
    if math.isnan(current) or candidate >= current:
        return Decision(
            True, f"candidate {metric}={candidate:.4f} >= Production {metric}={current:.4f}"
        )
    return Decision(
        False, f"candidate {metric}={candidate:.4f} < Production {metric}={current:.4f}"
    )


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


def run_metric(client: MlflowClient, run_id: str | None, metric: str) -> float:
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


def register_and_gate(
    model_uri: str, run_id: str, name: str, metric: str
) -> tuple[ModelVersion, Decision]:
    """Register model_uri under name, then promote it if decide_promotion says so; tag why."""
    client = MlflowClient()
    incumbent = current_production(client, name)
    version = mlflow.register_model(model_uri, name)
    candidate_score = run_metric(client, run_id, metric)
    current_score = run_metric(client, incumbent.run_id, metric) if incumbent else None
    decision = decide_promotion(candidate_score, current_score, metric)
    if decision.promote:
        promote(client, name, version.version)
    client.set_model_version_tag(
        name, version.version, "promotion.decision", "promoted" if decision.promote else "kept"
    )
    client.set_model_version_tag(name, version.version, "promotion.reason", decision.reason)
    client.set_model_version_tag(name, version.version, f"promotion.{metric}", str(candidate_score))
    return version, decision

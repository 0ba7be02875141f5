"""Model registry: register a version, let the gate decide, promote it."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace

import mlflow
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from toxic_mlops.config import GatePolicy
from toxic_mlops.contract import PROMOTION_DECISION_TAG, PROMOTION_REASON_TAG
from toxic_mlops.evaluation.gate import Decision, Figures, decide_promotion
from toxic_mlops.mlflow_io.promotion_lock import promotion_lock

PRODUCTION_ALIAS = "production"
PRODUCTION_STAGE = "Production"
MAX_DESCRIPTION_CHARS = 5000  # MLflow's model_versions.description column (enforced by PostgreSQL)


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


@dataclass(frozen=True)
class SameSplit:
    """Production as the evaluate step scored it on the candidate's own validation split."""

    version: str  # name/version scored
    score: float
    p_candidate_better: float  # paired bootstrap; NaN from evaluate runs made before it existed
    peak_rss_mb: float = float("nan")  # measured beside the candidate's; NaN: not measured


def _against_production(
    client: MlflowClient,
    name: str,
    policy: GatePolicy,
    candidate: Figures,
    same_split: SameSplit | None,
) -> tuple[Figures | None, Figures]:
    """(Production's figures, the candidate's): on the candidate's split when that was scored,
    and Production's peak memory as measured beside the candidate's when it was (else the one
    recorded when it was registered)."""
    incumbent_version = current_production(client, name)
    if incumbent_version is None:
        return None, candidate
    incumbent = Figures.from_tags(incumbent_version.tags, policy.metric) or Figures(
        # Registered without gate figures (by hand, or elsewhere): its run's metric, no speed.
        _run_metric(client, incumbent_version.run_id, policy.metric),
        float("nan"),
        float("nan"),
    )
    scored = f"{incumbent_version.name}/{incumbent_version.version}"
    if same_split and same_split.version == scored:
        incumbent = replace(incumbent, score=same_split.score)
        if not math.isnan(same_split.peak_rss_mb):
            incumbent = replace(incumbent, peak_rss_mb=same_split.peak_rss_mb)
        candidate = replace(candidate, p_better_than_production=same_split.p_candidate_better)
    return incumbent, candidate


def version_description(card: str, full_card_uri: str) -> str:
    """The model card as a version description, cut at a line to fit the registry's column."""
    if len(card) <= MAX_DESCRIPTION_CHARS:
        return card
    tail = f"\n\n... cut to fit the registry; the full card: {full_card_uri}\n"
    kept = card[: MAX_DESCRIPTION_CHARS - len(tail)]
    return kept[: kept.rfind("\n") + 1].rstrip() + tail


def register_and_gate(
    model_uri: str,
    name: str,
    candidate: Figures,
    policy: GatePolicy,
    same_split: SameSplit | None = None,
    description: str = "",
    extra_checks: Sequence[tuple[bool, str]] = (),
) -> tuple[ModelVersion, Decision]:
    """Register model_uri under name, promote it if the gate passes; tag figures and decision.

    same_split: Production scored on the candidate's own split; used instead of Production's
    recorded score (and its win probability taken) when it is that very version, so a
    retrained model on new data is compared on equal terms. description: the version's
    description (the model card), shown by the registry UI.
    """
    client = MlflowClient()
    # Read Production, decide and promote as one step: a concurrent register waits for it, then
    # meets the version promoted here as the Production to beat.
    with promotion_lock(client, name):
        incumbent, candidate = _against_production(client, name, policy, candidate, same_split)
        version = mlflow.register_model(model_uri, name)
        if description:
            client.update_model_version(name, version.version, description=description)
        decision = decide_promotion(candidate, incumbent, policy, extra_checks)
        for key, value in {
            **candidate.as_tags(policy.metric),
            PROMOTION_DECISION_TAG: "promoted" if decision.promote else "kept",
            PROMOTION_REASON_TAG: decision.reason,
        }.items():
            client.set_model_version_tag(name, version.version, key, value)
        if decision.promote:
            promote(client, name, version.version)
    return version, decision

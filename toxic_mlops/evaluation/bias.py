"""The Jigsaw Unintended Bias metric: overall AUC blended with per-identity bias AUCs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

POWER = -5
OVERALL_WEIGHT = 0.25


def _auc(truth: np.ndarray, scores: np.ndarray) -> float:
    if truth.all() or not truth.any():
        return float("nan")
    return float(roc_auc_score(truth, scores))


def power_mean(values: Sequence[float], p: float = POWER) -> float:
    values = np.asarray([v for v in values if not np.isnan(v)], dtype=float)
    if not len(values):
        return float("nan")
    with np.errstate(divide="ignore"):  # an AUC of 0 gives inf, and the mean then 0: intended
        return float(np.mean(values**p) ** (1 / p))


def bias_aucs(
    frame: pd.DataFrame, score: str, label: str, identities: Sequence[str], threshold: float = 0.5
) -> pd.DataFrame:
    """Per identity: subgroup AUC, BPSN AUC (background positive, subgroup negative), BNSP AUC."""
    truth = frame[label].to_numpy() >= threshold
    scores = frame[score].to_numpy()
    rows = []
    for identity in identities:
        member = frame[identity].fillna(0).to_numpy() >= threshold
        rows.append(
            {
                "identity": identity,
                "size": int(member.sum()),
                "subgroup_auc": _auc(truth[member], scores[member]),
                "bpsn_auc": _auc(
                    truth[(~member & truth) | (member & ~truth)],
                    scores[(~member & truth) | (member & ~truth)],
                ),
                "bnsp_auc": _auc(
                    truth[(~member & ~truth) | (member & truth)],
                    scores[(~member & ~truth) | (member & truth)],
                ),
            }
        )
    return pd.DataFrame(rows)


def final_bias_score(overall_auc: float, per_identity: pd.DataFrame) -> float:
    """0.25 x overall AUC + 0.25 x the power mean (p = -5) of each of the three AUC families."""
    families = ("subgroup_auc", "bpsn_auc", "bnsp_auc")
    return OVERALL_WEIGHT * overall_auc + sum(
        (1 - OVERALL_WEIGHT) / len(families) * power_mean(per_identity[f].tolist())
        for f in families
    )

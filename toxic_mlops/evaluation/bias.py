"""The Jigsaw Unintended Bias metric: overall AUC blended with per-identity bias AUCs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from pyfunc.text import Normalizer
from toxic_mlops.config import BiasConfig
from toxic_mlops.evaluation.identity import TermMatcher, flat_terms
from toxic_mlops.evaluation.probe import (
    NON_TOXIC_TEMPLATES,
    TOXIC_TEMPLATES,
    ProbeResult,
    run_probe,
)

POWER = -5
OVERALL_WEIGHT = 0.25
_TRUTH, _SCORE = "__truth", "__score"  # columns beside the term columns


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


@dataclass(frozen=True)
class TermBias:
    """The Jigsaw metric over identity terms found in the text, not annotated identity columns."""

    final_score: float
    per_term: pd.DataFrame  # identity, size, positives, scored, subgroup/bpsn/bnsp AUCs

    def metrics(self) -> dict[str, float]:
        scored = self.per_term[self.per_term["scored"]]
        return {
            "bias_term_final_score": self.final_score,
            "bias_term_min_subgroup_auc": float(scored["subgroup_auc"].min()),
            "bias_term_min_bpsn_auc": float(scored["bpsn_auc"].min()),
            "bias_terms_scored": float(len(scored)),
        }


def term_bias(
    mentions: pd.DataFrame,
    truth: np.ndarray,
    scores: np.ndarray,
    min_mentions: int,
    min_positives: int,
) -> TermBias:
    """Per term the three bias AUCs; the final score's power means read only the terms with at
    least min_mentions mentions and min_positives positives and negatives among them."""
    truth = np.asarray(truth, dtype=bool)
    frame = mentions.assign(**{_TRUTH: truth, _SCORE: scores})
    table = bias_aucs(frame, _SCORE, _TRUTH, list(mentions.columns))
    members = mentions.to_numpy()
    positives = (members & truth[:, None]).sum(axis=0)
    table["positives"] = positives
    table["scored"] = (
        (table["size"] >= min_mentions)
        & (positives >= min_positives)
        & (table["size"] - positives >= min_positives)
    )
    overall = float(roc_auc_score(truth, scores)) if 0 < truth.sum() < len(truth) else np.nan
    return TermBias(final_bias_score(overall, table[table["scored"]]), table)


@dataclass(frozen=True)
class IdentityBias:
    """A scorer's identity bias from the text alone: test-split terms and the template probe."""

    term: TermBias
    probe: ProbeResult

    def metrics(self) -> dict[str, float]:
        return {**self.term.metrics(), **self.probe.metrics()}


def identity_bias(
    texts: Sequence[str],
    targets: np.ndarray,
    scores: np.ndarray,
    predict: Callable[[list[str]], np.ndarray],
    threshold: float,
    settings: BiasConfig,
    normalizer: Normalizer,
    positive_threshold: float,
) -> IdentityBias:
    """The first label's bias: scores/targets of the test texts (targets NaN where unknown), and
    predict on the probe, flagged at the scorer's decision threshold for that label."""
    terms = flat_terms(settings.identity_terms)
    known = ~np.isnan(targets)
    mentions = TermMatcher(terms, normalizer).mentions(list(np.asarray(texts, dtype=object)[known]))
    term = term_bias(
        mentions,
        targets[known] >= positive_threshold,
        scores[known],
        settings.min_mentions,
        settings.min_positives,
    )
    return IdentityBias(term, run_probe(predict, settings.identity_terms, threshold))


def _cell(value: float) -> str:
    return "n/a" if value != value else f"{value:.4f}"  # NaN != NaN


def bias_card_section(found: Mapping[str, IdentityBias], label: str, worst: int = 5) -> list[str]:
    """The model card's markdown lines on identity bias, per scorer (empty when not measured)."""
    if not found:
        return []
    any_result = next(iter(found.values()))
    sentences = len(any_result.probe.per_term) * (len(NON_TOXIC_TEMPLATES) + len(TOXIC_TEMPLATES))
    lines = [
        "",
        f"## Identity bias (identity terms in the text, label `{label}`)",
        "",
        f"Template probe: {sentences:,} sentences, {len(NON_TOXIC_TEMPLATES)} non-toxic and "
        f"{len(TOXIC_TEMPLATES)} toxic templates x {len(any_result.probe.per_term)} identity "
        "terms; a false positive is a non-toxic sentence scored at or above the decision "
        "threshold. Term metric: the Jigsaw bias metric on the test split with identity "
        "mentions found by the term list (terms with too few mentions or positives left out).",
        "",
        "| | probe ROC-AUC | max term FPR | mean term FPR | term bias metric | terms scored |",
        "|---|---|---|---|---|---|",
    ]
    for name, result in found.items():
        metrics = result.metrics()
        lines.append(
            f"| {name} | {_cell(result.probe.roc_auc)} | {_cell(result.probe.max_term_fpr)} | "
            f"{_cell(result.probe.mean_term_fpr)} | {_cell(result.term.final_score)} | "
            f"{int(metrics['bias_terms_scored'])} of {len(result.term.per_term)} |"
        )
    for name, result in found.items():
        table = result.probe.per_term.sort_values("fpr", ascending=False).head(worst)
        flagged = ", ".join(f"{r.term} {r.fpr:.2f}" for r in table.itertuples())
        lines.append(f"\nMost flagged non-toxic probe terms, {name} (FPR): {flagged}.")
    return lines

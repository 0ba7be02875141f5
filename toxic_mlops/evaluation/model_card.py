"""A short markdown model card from the evaluate step's figures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from toxic_mlops.evaluation.spans import card_section

LIMITS = [
    "",
    "## Limits",
    "",
    "- Only the first max_len (100) tokens are read: a long comment is scored on its start.",
    "- Trained on English news-site comments: other languages, domains and slang are scored "
    "unreliably; check the score histograms before using thresholds.",
    "- Scores reflect rater fractions, including rater biases towards identity mentions "
    "(see the bias metric when the data has identity columns).",
    "",
]


def _cell(value: float) -> str:
    return "n/a" if value != value else f"{value:.4f}"  # NaN != NaN


def _metric_key(metric: str, label: str) -> str:
    return f"macro_{metric}" if label == "macro" else f"{metric}_{label}"


def model_card(
    dataset: str,
    rows: Mapping[str, int],
    labels: Sequence[str],
    model: Mapping[str, float],
    baseline: Mapping[str, float],
    cost: Mapping[str, Mapping[str, float]],
    bias_score: Mapping[str, float] | None,
    spans: Mapping[str, Any] | None = None,
) -> str:
    lines = [
        "# Model card",
        "",
        f"**Data**: `{dataset}`; train / val / test rows: "
        + " / ".join(f"{rows[s]:,}" for s in ("train", "val", "test"))
        + ". Labels are rater fractions, binarised at the dataset's positive threshold.",
        "",
        "**Model**: BiLSTM (reference notebook architecture), raw text in, one probability per "
        "label out. **Baseline**: TF-IDF word 1-2 grams + logistic regression per label, trained "
        "and scored on the same split.",
        "",
        "## Test metrics (thresholds tuned for F1 on validation)",
        "",
        "| label | ROC-AUC | baseline ROC-AUC | PR-AUC | baseline PR-AUC | F1 | baseline F1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for label in [*labels, "macro"]:
        lines.append(
            f"| {label} | "
            + " | ".join(
                _cell(source[_metric_key(metric, label)])
                for metric in ("roc_auc", "pr_auc", "f1")
                for source in (model, baseline)
            )
            + " |"
        )
    lines += [
        "",
        "## Inference cost (in-process, this machine)",
        "",
        "| | p50 latency, 1 comment | comments/s, batches of 256 |",
        "|---|---|---|",
    ]
    for name, figures in cost.items():
        lines.append(
            f"| {name} | {figures['latency_p50_ms']:.1f} ms | {figures['comments_per_s']:,.0f} |"
        )
    if bias_score:
        lines += ["", "## Unintended bias (Jigsaw metric, first label)", ""]
        lines += [f"- {name}: {_cell(value)}" for name, value in bias_score.items()]
    if spans:
        lines += card_section(spans)
    lines += LIMITS
    return "\n".join(lines)

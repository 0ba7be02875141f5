"""The figures the docs quote from `make demo`'s model, generated from its recorded runs.

    make demo && make docs-figures                             # rewrite the quoted figures
    python -m toxic_mlops.mlflow_io docs-figures --check       # exit 1 naming each stale block

A block is the text between `<!-- figures:NAME -->` and `<!-- /figures:NAME -->` in the files of
BLOCKS; nothing else in the docs is rewritten. The demo's model is the version registered from
the train run of the newest finished `main` run with configs/sample.yaml, so later retraining in
the same store does not change what the docs quote.
"""

from __future__ import annotations

import re
import tempfile
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from toxic_mlops.config import Config, load_config
from toxic_mlops.contract import (
    BASELINE_METRIC_PREFIX,
    BASELINE_WIN_PROBABILITY_METRIC,
    COMMENTS_PER_S_METRIC,
    PIPELINE_TAG_PREFIX,
    PREPROCESS_RUN_TAG,
    PROMOTION_DECISION_TAG,
    PROMOTION_REASON_TAG,
    THRESHOLDS_ARTIFACT,
    VAL_MACRO_AUC_METRIC,
)
from toxic_mlops.data.dataset import TEXT
from toxic_mlops.errors import PipelineError
from toxic_mlops.evaluation.gate import Figures, decide_promotion
from toxic_mlops.mlflow_io.configs import recorded_config
from toxic_mlops.mlflow_io.inputs import reference_splits
from toxic_mlops.mlflow_io.runs import PROJECT_ROOT, finished_runs, get_run

DEMO_CONFIG = "configs/sample.yaml"
# The README's curl example: what it sends, in order.
CURL_INPUTS = ["you are a total idiot", "thanks, that was helpful"]
BLOCKS = {
    "README.md": ["curl-answer"],
    "docs/evaluation.md": ["sample-gate"],
    "docs/page.md": ["rare-label-threshold"],
}
REGENERATE = "make demo && make docs-figures"
BLOCK = re.compile(
    r"(?P<open><!-- figures:(?P<name>[\w-]+) -->)(?P<body>.*?)"
    r"(?P<close><!-- /figures:(?P=name) -->)",
    re.S,
)


@dataclass(frozen=True)
class DemoModel:
    """The demo's registered version and the runs behind it."""

    name: str
    version: str
    version_tags: Mapping[str, str]
    train: Run
    evaluate: Run
    config: Config


def demo_model(client: MlflowClient, experiment_name: str) -> DemoModel:
    """The version the newest finished `main` run on the demo config registered."""
    experiment = client.get_experiment_by_name(experiment_name)
    mains = [] if experiment is None else finished_runs(experiment.experiment_id, "main")
    main = next((run for run in mains if recorded_config(run) == DEMO_CONFIG), None)
    if main is None:
        raise PipelineError(
            f"no finished `make demo` run (main with {DEMO_CONFIG}) in experiment "
            f"{experiment_name!r} of {mlflow.get_tracking_uri()}: run `make demo` first"
        )
    train_run = main.data.tags[f"{PIPELINE_TAG_PREFIX}train_run"]
    versions = client.search_model_versions(f"run_id = '{train_run}'")
    if not versions:
        raise PipelineError(f"the demo's train run {train_run} is not registered: run `make demo`")
    version = min(versions, key=lambda v: int(v.version))
    evaluate = get_run(main.data.tags[f"{PIPELINE_TAG_PREFIX}evaluate_run"])
    train = get_run(train_run)
    config = load_config(PROJECT_ROOT / recorded_config(train))
    return DemoModel(version.name, version.version, version.tags, train, evaluate, config)


def curl_answer(model: DemoModel) -> str:
    """The README's curl answer, rounded to 4 decimals, one prediction a line."""
    loaded = mlflow.pyfunc.load_model(f"models:/{model.name}/{model.version}")
    scores = loaded.predict(pd.DataFrame({TEXT: CURL_INPUTS}))
    rows = [
        "  {" + ", ".join(f'"{label}": {value:.4f}' for label, value in row.items()) + "}"
        for row in scores.to_dict(orient="records")
    ]
    return '\n```json\n{"predictions": [\n' + ",\n".join(rows) + "\n]}\n```\n"


def _val_positives(model: DemoModel) -> dict[str, int]:
    """Positives per label among the validation rows whose label is known."""
    dataset = model.config.dataset
    with tempfile.TemporaryDirectory() as tmp:
        val = reference_splits(model.train.data.tags[PREPROCESS_RUN_TAG], Path(tmp))["val"]
    return {
        label: int((val[label].dropna() >= dataset.positive_threshold).sum())
        for label in dataset.label_columns
    }


def sample_gate(model: DemoModel, positives: Mapping[str, int]) -> str:
    """docs/evaluation.md's figures of the bundled sample: the gate's evidence and its verdict
    with and without the baseline rule."""
    metrics, train = model.evaluate.data.metrics, model.train.data
    minimum = model.config.evaluation.min_positives
    rankable = [label for label, count in positives.items() if count >= minimum]
    per_label = ", ".join(
        f"`{label}` {train.metrics[f'val_roc_auc_{label}']:.3f} ({count})"
        for label, count in positives.items()
    )
    candidate = Figures(
        metrics[VAL_MACRO_AUC_METRIC],
        metrics[BASELINE_METRIC_PREFIX + VAL_MACRO_AUC_METRIC],
        metrics[COMMENTS_PER_S_METRIC],
        metrics[BASELINE_WIN_PROBABILITY_METRIC],
    )
    strict = replace(model.config.registry.gate, require_beat_baseline=True)
    refused = decide_promotion(candidate, None, strict)
    epochs = train.params["training.epochs"]
    best = int(train.metrics["best_epoch"])
    kept = "the wide path alone" if best == 0 else f"epoch {best} of the BiLSTM"
    rule = "keeps" if model.config.registry.require_beat_baseline else "turns off"
    tags = model.version_tags
    outcome = (
        "promoted to Production"
        if tags.get(PROMOTION_DECISION_TAG) == "promoted"
        else "registered, NOT promoted"
    )
    prose = (
        f"On the bundled sample (`make demo`, `{DEMO_CONFIG}`; the train run kept epoch {best} "
        f"of {epochs}, {kept}): validation macro ROC-AUC {candidate.score:.4f} for the model vs "
        f"{candidate.baseline_score:.4f} for the baseline, a point win. Per label on validation, "
        f"ROC-AUC (positives): {per_label}. P(better than the baseline) over the "
        f"{len(rankable)} labels with {minimum}+ positives ({', '.join(rankable)}) is "
        f"{candidate.p_better_than_baseline:.2f}, so with `registry.require_beat_baseline: true` "
        "(configs/toxic.yaml) the gate refuses it:"
    )
    said = f"register: {model.name} version {model.version} {outcome}: "
    return (
        f"\n{_wrap(prose)}\n\n```\n{refused.reason}\n```\n\n"
        f"`{DEMO_CONFIG}` {rule} that rule, and `make demo` says:\n\n"
        f"```\n{said}{tags.get(PROMOTION_REASON_TAG, '')}\n```\n"
    )


def _wrap(text: str) -> str:
    """At the docs' 100 columns, never inside a word or a hyphenated name."""
    return textwrap.fill(text, 100, break_long_words=False, break_on_hyphens=False)


def rare_label_threshold(model: DemoModel, positives: Mapping[str, int]) -> str:
    """docs/page.md: the label with the fewest validation positives and its tuned threshold."""
    label = min(positives, key=positives.get)
    thresholds = mlflow.artifacts.load_dict(
        f"runs:/{model.train.info.run_id}/{THRESHOLDS_ARTIFACT}"
    )
    count = positives[label]
    return (
        f"`{label}` has {count} positive{'s' * (count != 1)} in validation, and its threshold "
        f"is {thresholds[label]:.2g}"
    )


def demo_blocks(client: MlflowClient, experiment_name: str) -> dict[str, str]:
    """Every generated block's text, by name."""
    model = demo_model(client, experiment_name)
    positives = _val_positives(model)
    return {
        "curl-answer": curl_answer(model),
        "sample-gate": sample_gate(model, positives),
        "rare-label-threshold": rare_label_threshold(model, positives),
    }


def quoted_blocks(text: str) -> dict[str, str]:
    return {match["name"]: match["body"] for match in BLOCK.finditer(text)}


def stale_blocks(root: Path, blocks: Mapping[str, str]) -> list[str]:
    """'<file> <block>' for every block whose text differs from the generated one."""
    stale = []
    for file, names in BLOCKS.items():
        quoted = quoted_blocks((root / file).read_text())
        missing = [name for name in names if name not in quoted]
        if missing:
            raise PipelineError(f"{file} has lost the markers of {missing}: <!-- figures:NAME -->")
        stale += [f"{file} {name}" for name in names if quoted[name] != blocks[name]]
    return stale


def write_blocks(root: Path, blocks: Mapping[str, str]) -> list[str]:
    """Rewrite the stale blocks; the ones rewritten."""
    stale = stale_blocks(root, blocks)
    for file in BLOCKS:
        path = root / file
        text = BLOCK.sub(
            lambda m: m["open"] + blocks.get(m["name"], m["body"]) + m["close"], path.read_text()
        )
        path.write_text(text)
    return stale

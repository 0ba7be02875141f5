"""Where a registered model came from: version -> train -> preprocess -> download -> source.

The steps leave tags that point upstream (toxic_mlops/contract.py); this follows them and reads
the dataset inputs (name, digest, rows) each run logged, so any version can be traced to its rows.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field

from mlflow.entities import Run
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from toxic_mlops.contract import (
    CODE_VERSION_TAG,
    DATA_SHA256_TAG,
    DATA_SOURCES_TAG,
    DOWNLOAD_RUN_TAG,
    ENTRY_POINT_TAG,
    NEW_DATA_SHA256_TAG,
    NEW_DATA_TAG,
    PREPROCESS_RUN_TAG,
    RAW_DATA_TAG,
    REFERENCE_PREPROCESS_RUN_TAG,
)
from toxic_mlops.errors import PipelineError

MODEL_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<ref>[^/]+)|@(?P<alias>[^/]+))$")
PER_LABEL_TEST_AUC = "test_roc_auc_"
RUNS_URI = re.compile(r"^runs:/(?P<run_id>[0-9a-f]{32})/")


@dataclass
class Node:
    """One thing in the chain and what it was made from."""

    text: str
    parents: list[Node] = field(default_factory=list)


def resolve_model_version(client: MlflowClient, model_uri: str) -> ModelVersion:
    """models:/name/<version|stage> or models:/name@alias -> the registry's version."""
    match = MODEL_URI.match(model_uri)
    if match is None:
        raise PipelineError(
            f"{model_uri!r} is not a registry URI: use models:/<name>/<version or stage> "
            "or models:/<name>@<alias>"
        )
    name, ref, alias = match["name"], match["ref"], match["alias"]
    try:
        if alias:
            return client.get_model_version_by_alias(name, alias)
        if ref.isdigit():
            return client.get_model_version(name, ref)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # stages: deprecated, still supported
            versions = client.get_latest_versions(name, stages=[ref])
    except MlflowException as error:
        raise PipelineError(f"{model_uri}: {error.message}") from error
    if not versions:
        raise PipelineError(
            f"{model_uri}: model {name!r} has no version in stage {ref!r}. Nothing promoted yet? "
            "Run the pipeline (`make demo` offline, or `make pipeline`); if the gate refused a "
            "version, its promotion.reason tag says why"
        )
    return versions[0]


@dataclass(frozen=True)
class ModelReference:
    """A registered version, the train run behind it, and the preprocess run holding its splits."""

    version: ModelVersion
    train_run: Run
    preprocess_run: str


def model_reference(client: MlflowClient, model_uri: str) -> ModelReference:
    version = resolve_model_version(client, model_uri)
    train_run = client.get_run(version.run_id)
    preprocess_run = _upstream(train_run, PREPROCESS_RUN_TAG, "preprocess_run")
    if not preprocess_run:
        raise PipelineError(
            f"{model_uri} (run {version.run_id}) was trained from a local folder: "
            "no reference data is recorded for it"
        )
    return ModelReference(version, train_run, preprocess_run)


def _datasets(run: Run) -> str:
    described = []
    for item in run.inputs.dataset_inputs:
        dataset = item.dataset
        rows = json.loads(dataset.profile or "{}").get("num_rows")
        size = f", {rows:,} rows" if isinstance(rows, int) else ""
        described.append(f"{dataset.name} (digest {dataset.digest}{size})")
    return "; ".join(described)


def _run_text(run: Run, role: str) -> str:
    tags, metrics = run.data.tags, run.data.metrics
    text = f"{role} run {run.info.run_id} [{run.info.status}, code {tags.get(CODE_VERSION_TAG)}]"
    if "test_macro_roc_auc" in metrics:
        # The same name as the monitor report's, which says over which labels its macro is.
        labels = [k for k in metrics if k.startswith(PER_LABEL_TEST_AUC) and "_ci_" not in k]
        text += f" test macro ROC-AUC {metrics['test_macro_roc_auc']:.4f} ({len(labels)} labels)"
    datasets = _datasets(run)
    return f"{text}: {datasets}" if datasets else text


def _sources(run: Run) -> list[Node]:
    tags = run.data.tags
    sources = json.loads(tags.get(DATA_SOURCES_TAG, "[]"))
    digests = tags.get(DATA_SHA256_TAG, "").split(",")
    if len(sources) == len(digests):
        return [Node(f"source {s} sha256 {d}") for s, d in zip(sources, digests, strict=True)]
    # One source can expand to several files (hf:// lists parquet shards): one digest per file.
    return [Node(f"source {', '.join(sources)} sha256 {', '.join(digests)}")]


def _upstream(run: Run, tag: str, param: str) -> str:
    """The tag a step sets, else (runs made before it did) the parameter `mlflow run` logged."""
    value = run.data.tags.get(tag) or run.data.params.get(param, "")
    return value.strip("'")


def trace_run(client: MlflowClient, run_id: str, role: str = "") -> Node:
    """The run and, recursively, the runs and sources it read."""
    try:
        run = client.get_run(run_id)
    except MlflowException:
        return Node(f"run {run_id} (not found in this tracking store)")
    tags = run.data.tags
    entry_point = tags.get(ENTRY_POINT_TAG, "")
    node = Node(_run_text(run, role or entry_point or "run"))
    if entry_point == "train":
        upstream = _upstream(run, PREPROCESS_RUN_TAG, "preprocess_run")
        node.parents.append(
            trace_run(client, upstream) if upstream else Node("data from a local folder")
        )
    elif entry_point == "preprocess":
        download_run = _upstream(run, DOWNLOAD_RUN_TAG, "download_run")
        if download_run:
            node.parents.append(trace_run(client, download_run))
        else:
            raw = _upstream(run, RAW_DATA_TAG, "raw_data")
            produced_by = RUNS_URI.match(raw)
            node.parents.append(
                trace_run(client, produced_by["run_id"]) if produced_by else Node(f"file {raw}")
            )
    elif entry_point == "download":
        node.parents.extend(_sources(run))
    elif entry_point == "retrain":
        node.parents.append(
            trace_run(client, tags[REFERENCE_PREPROCESS_RUN_TAG], role="reference preprocess")
        )
        node.parents.append(
            Node(f"new data {tags.get(NEW_DATA_TAG)} sha256 {tags.get(NEW_DATA_SHA256_TAG)}")
        )
    return node


def trace_model(client: MlflowClient, model_uri: str) -> Node:
    version = resolve_model_version(client, model_uri)
    labels = [f"stage {version.current_stage}"] + [f"@{a}" for a in version.aliases]
    node = Node(f"model {version.name} version {version.version} ({', '.join(labels)})")
    node.parents.append(trace_run(client, version.run_id, role="train"))
    return node


def format_tree(node: Node, depth: int = 0) -> str:
    lines = [("  " * (depth - 1) + "<- " if depth else "") + node.text]
    lines += [format_tree(parent, depth + 1) for parent in node.parents]
    return "\n".join(lines)

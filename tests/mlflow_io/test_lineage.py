"""Lineage: registry URIs and the printed chain (the full chain runs in the end-to-end test)."""

import pytest

from toxic_mlops.errors import PipelineError
from toxic_mlops.mlflow_io.lineage import MODEL_URI, Node, format_tree, resolve_model_version


@pytest.mark.parametrize(
    ("uri", "parts"),
    [
        ("models:/toxic/Production", ("toxic", "Production", None)),
        ("models:/toxic/3", ("toxic", "3", None)),
        ("models:/toxic@production", ("toxic", None, "production")),
    ],
)
def test_registry_uris(uri: str, parts: tuple) -> None:
    match = MODEL_URI.match(uri)
    assert (match["name"], match["ref"], match["alias"]) == parts


def test_a_uri_that_is_not_a_registry_uri_is_refused(tracking: str) -> None:
    from mlflow.tracking import MlflowClient

    for uri in ("toxic", "runs:/abc/model", "models:/toxic"):
        with pytest.raises(PipelineError, match="not a registry URI"):
            resolve_model_version(MlflowClient(), uri)
    with pytest.raises(PipelineError, match="not found"):
        resolve_model_version(MlflowClient(), "models:/nothing/1")


def test_tree_is_printed_upstream_with_indentation() -> None:
    tree = Node("model m 1", [Node("train run", [Node("preprocess run", [Node("source s")])])])
    assert format_tree(tree).splitlines() == [
        "model m 1",
        "<- train run",
        "  <- preprocess run",
        "    <- source s",
    ]

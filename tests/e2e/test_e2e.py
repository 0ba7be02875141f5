"""End to end, for real: `mlflow run` every entry point, serve the registered model, POST to it.

The data is generated here and served from 127.0.0.1 the way the Hugging Face Hub serves
google/civil_comments (a parquet listing API + parquet files), so the default `hf://` source path
of the download step runs unchanged.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import requests
import yaml
from mlflow.tracking import MlflowClient

from tests.conftest import Project, tiny_config
from tests.synthetic import LABELS, make_comments
from toxic_mlops.mlflow_io.registry import MAX_DESCRIPTION_CHARS
from toxic_mlops.serving.model_server import ModelServer

pytestmark = pytest.mark.e2e


def test_each_step_logs_its_outputs(project: Project, pipeline: dict[str, str]) -> None:
    client = MlflowClient(project.env["MLFLOW_TRACKING_URI"])
    download = client.get_run(pipeline["download"])
    assert download.data.metrics["rows_source"] == 1602
    assert 0.2 < download.data.metrics["positive_rate_toxicity"] < 0.5  # synthetic: ~0.37
    assert len(download.data.tags["data.sha256"].split(",")) == 2
    assert download.inputs.dataset_inputs, "download logs its dataset as an MLflow input"
    assert download.info.artifact_uri.startswith((project.workdir / "mlartifacts").as_uri())

    preprocess = client.get_run(pipeline["preprocess"])
    artifacts = {a.path for a in client.list_artifacts(pipeline["preprocess"], "data")}
    assert artifacts == {"data/train.parquet", "data/val.parquet", "data/test.parquet"}
    assert (
        preprocess.data.metrics["rows_empty"] == 1
        and preprocess.data.metrics["rows_duplicate"] == 1
    )

    train = client.get_run(pipeline["train"])
    assert train.data.params["epochs"] == "5" and train.data.params["training.epochs"] == "5"
    # Epoch 0 (the fitted wide path) and the 5 deep epochs.
    assert len(client.get_metric_history(pipeline["train"], "epoch_val_loss")) == 6
    assert train.data.metrics["val_macro_roc_auc"] > 0.85
    assert train.data.metrics["test_macro_roc_auc"] > 0.85
    plots = {a.path for a in client.list_artifacts(pipeline["train"], "plots")}
    assert {"plots/loss_curve.png", "plots/test_roc_pr.png"} <= plots

    evaluate = client.get_run(pipeline["evaluate"])
    for metric in (
        "test_macro_roc_auc",
        "baseline_test_macro_roc_auc",
        "test_f1_toxicity",
        "baseline_test_pr_auc_threat",
        "latency_p50_ms",
        "comments_per_s",
        "load_rss_mb",  # a fresh process loading the logged model, then scoring 1,000 comments
        "peak_rss_mb",
        "probe_roc_auc",  # identity bias, without identity columns (docs/bias.md)
        "baseline_probe_max_term_fpr",
        "bias_term_final_score",
    ):
        assert metric in evaluate.data.metrics, metric
    artifacts = {a.path for a in client.list_artifacts(pipeline["evaluate"], "plots")}
    assert {"plots/test_roc_pr_vs_baseline.png", "plots/test_score_histograms.png"} <= artifacts
    for metric in (
        "test_roc_auc_toxicity_ci_low",
        "test_positives_toxicity",
        "p_better_than_baseline",
    ):
        assert metric in evaluate.data.metrics, metric
    tables = {a.path for a in client.list_artifacts(pipeline["evaluate"], "bias")}
    assert {"bias/model_probe_per_term.json", "bias/baseline_per_term.json"} <= tables
    card = client.download_artifacts(pipeline["evaluate"], "model_card.md", str(project.workdir))
    assert "| toxicity |" in Path(card).read_text()
    assert "| model |" in Path(card).read_text() and " MB / " in Path(card).read_text()
    assert "## Identity bias" in Path(card).read_text()

    version = client.get_model_version_by_alias("toxic", "production")
    assert version.run_id == pipeline["train"] and version.current_stage == "Production"
    gate_score = float(version.tags["gate.val_macro_roc_auc"])
    assert gate_score == evaluate.data.metrics["val_macro_roc_auc"]
    peak = evaluate.data.metrics["peak_rss_mb"]
    assert float(version.tags["gate.peak_rss_mb"]) == peak
    assert 100 < evaluate.data.metrics["load_rss_mb"] <= peak < 4000
    # The registry UI shows the card, cut at a line when over the registry's column size (the
    # evasion table comes last for that); the cut says where the full card is.
    text, shown = Path(card).read_text(), version.description
    assert shown == text or (
        len(text) > MAX_DESCRIPTION_CHARS >= len(shown)
        and text.startswith(shown.split("\n\n... cut to fit")[0])
        and f"runs:/{pipeline['evaluate']}/model_card.md" in shown
    )
    assert "## Limits" in shown


def test_main_reuses_finished_steps_and_registers(
    project: Project, pipeline: dict[str, str]
) -> None:
    client = MlflowClient(project.env["MLFLOW_TRACKING_URI"])
    newest = max(int(v.version) for v in client.search_model_versions("name='toxic'"))
    _, output = project.step("main", config=str(project.workdir / "tiny.yaml"), epochs="5")
    for step in ("download", "preprocess", "train", "evaluate"):
        assert f"reusing finished {step} run {pipeline[step]}" in output
    assert "running register" in output
    # The same model again: an equal score is no improvement (a tie counts as P = 0.5), so the
    # new version is registered and kept out of Production.
    assert (
        f"version {newest + 1} registered, NOT promoted: FAILED: P(better than Production) = "
        "0.50 < 0.90 (no paired bootstrap: point values" in output
    )
    production = client.get_model_version_by_alias("toxic", "production")
    assert int(production.version) == newest and production.run_id == pipeline["train"]


def test_a_failing_candidate_stays_registered_but_not_promoted(
    project: Project, pipeline: dict[str, str]
) -> None:
    strict = tiny_config()
    strict["registry"]["min_win_probability"] = 1.0  # Production is this model: P = 0.5, never
    path = project.workdir / "strict.yaml"
    path.write_text(yaml.safe_dump(strict, sort_keys=False))
    client = MlflowClient(project.env["MLFLOW_TRACKING_URI"])
    before = client.get_model_version_by_alias("toxic", "production").version
    _, output = project.step("register", config=str(path), train_run=pipeline["train"])
    assert "registered, NOT promoted: FAILED" in output
    assert client.get_model_version_by_alias("toxic", "production").version == before
    newest = max(client.search_model_versions("name='toxic'"), key=lambda v: int(v.version))
    assert newest.tags["promotion.decision"] == "kept" and newest.current_stage == "None"


def test_bad_data_fails_with_a_clear_message(project: Project, pipeline: dict[str, str]) -> None:
    bad = project.workdir / "bad.csv"
    make_comments(50).drop(columns=["threat"]).to_csv(bad, index=False)
    done = project.run(
        *project.step_args(
            "preprocess", config=str(project.workdir / "tiny.yaml"), raw_data=str(bad)
        ),
        check=False,
    )
    assert done.returncode != 0
    assert "Error: data does not match the schema" in done.stderr
    assert "label column 'threat' is missing" in done.stderr
    assert "Traceback" not in done.stderr.split("=== Run (ID")[0]


@pytest.fixture(scope="module")
def server(project: Project, pipeline: dict[str, str]) -> str:
    with ModelServer("models:/toxic/Production", env=project.env, cwd=project.workdir) as served:
        yield served.url


# Shaped like the synthetic training comments (their words, capitalised, ending in "."): the tiny
# model has seen nothing else, so text outside that shape says nothing about serving.
TOXIC, CLEAN = "You stupid idiot moron loser.", "Thanks the council meeting great local news."
MAX_ROWS = tiny_config()["serving"]["max_rows"]


def invoke(url: str, body: object) -> requests.Response:
    return requests.post(f"{url}/invocations", json=body, timeout=30)


def test_serves_scores_for_raw_strings(server: str) -> None:
    response = invoke(server, {"inputs": [TOXIC, CLEAN, ""]})
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert len(predictions) == 3
    for row in predictions:
        assert set(row) == set(LABELS)
        assert all(0.0 <= score <= 1.0 for score in row.values())
    assert predictions[0]["toxicity"] > predictions[1]["toxicity"] + 0.3


def test_dataframe_split_gives_the_same_scores(server: str) -> None:
    by_inputs = invoke(server, {"inputs": [TOXIC, CLEAN]}).json()["predictions"]
    frame = pd.DataFrame({"text": [TOXIC, CLEAN]})
    response = invoke(server, {"dataframe_split": frame.to_dict(orient="split")})
    assert response.status_code == 200, response.text
    pd.testing.assert_frame_equal(
        pd.DataFrame(response.json()["predictions"]), pd.DataFrame(by_inputs), rtol=1e-5
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"inputs": [1, 2]}, "Every input must be a string; item 0 is int"),
        ({"inputs": ["fine", None]}, "item 1 is NoneType"),
        ({"inputs": [{"comment": "nested object"}]}, "text"),
        ({"inputs": [["nested", "list"]]}, "flat list"),
        ({"dataframe_split": {"columns": ["comment"], "data": [["hi"]]}}, "text"),
        ({"dataframe_records": [{"comment": "hi"}]}, "text"),
        ({"texts": ["hi"]}, "inputs"),
        (
            {"inputs": ["spam"] * (MAX_ROWS + 1)},
            f"Too many comments in one request: {MAX_ROWS + 1}",
        ),
    ],
)
def test_bad_requests_get_a_400_that_says_what_to_send(server: str, body, message) -> None:
    response = invoke(server, body)
    assert response.status_code == 400, response.text
    assert message in response.json()["message"]
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        (b'{"inputs": ["\xff\xfe"]}', "application/json", 400),
        ('{"inputs": ["hi"]}', "text/plain", 415),
        ('{"inputs": ["hi"]}', "application/json; charset=latin-1", 415),
    ],
)
def test_malformed_requests_are_4xx_and_the_server_stays_up(
    server: str, data, content_type: str, status: int
) -> None:
    response = requests.post(
        f"{server}/invocations", data=data, headers={"Content-Type": content_type}, timeout=10
    )
    assert response.status_code == status, response.text
    assert requests.get(f"{server}/ping", timeout=5).status_code == 200


def test_odd_but_valid_texts_get_scores(server: str) -> None:
    texts = ["", "   \n\t ", "😡😡 你是白痴 ты идиот idiot", "x" * 1_000_000, "word " * 200_000]
    response = invoke(server, {"inputs": texts})
    assert response.status_code == 200, response.text[:500]
    predictions = response.json()["predictions"]
    assert len(predictions) == len(texts)
    assert all(0.0 <= score <= 1.0 for row in predictions for score in row.values())


def test_docker_recipe_carries_the_whole_model(project: Project, pipeline: dict[str, str]) -> None:
    """MLflow's own image recipe (`mlflow models build-docker`; `make image` is ours) carries the
    whole model: generate-dockerfile writes it without a Docker engine."""
    out = project.workdir / "docker"
    project.run(
        "models",
        "generate-dockerfile",
        "-m",
        "models:/toxic/Production",
        "-d",
        str(out),
        "--env-manager",
        "local",
    )
    dockerfile = (out / "Dockerfile").read_text()
    assert "COPY model_dir /opt/ml/model" in dockerfile
    assert "ENTRYPOINT" in dockerfile
    model_dir = out / "model_dir"
    for name in (
        "MLmodel",
        "model_code.py",
        "code/pyfunc/model.py",
        "artifacts/weights.pt",
        "artifacts/tokenizer.json",
        "artifacts/model_config.json",
    ):
        assert (model_dir / name).is_file(), name
    requirements = (model_dir / "requirements.txt").read_text()
    assert "torch==" in requirements and "tokenizers==" in requirements

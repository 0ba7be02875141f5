"""End to end, for real: the MLOps loop around the pipeline (lineage, validate, monitor, tune,
retrain), through `mlflow run` against the same throwaway store as tests/e2e/test_e2e.py.

New batches are served over HTTP from 127.0.0.1, so the steps read them the way they read a URL.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml
from mlflow.tracking import MlflowClient

from tests.conftest import ROOT, Project, tiny_config
from tests.synthetic import SPORTS, make_comments
from toxic_mlops.mlflow_io.registry import current_production

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def batches(project: Project) -> dict[str, str]:
    """URLs of new batches: one like the training data, one on another topic, one broken."""
    folder = project.server.directory / "batches"
    folder.mkdir()
    # Another topic, and insults the training data never had (new slang): the model misses them.
    slang = "muppet numpty plonker wazzock nitwit".split()
    shifted = make_comments(
        1000, seed=32, neutral=SPORTS, words_per_comment=(30, 50), insults=slang
    )
    frames = {
        "same": make_comments(1000, seed=31),
        "shifted": shifted,
        "shifted_text": shifted[["text"]],  # no labels: covariate and prediction drift only
        "no_labels": make_comments(300, seed=33)[["text"]],
    }
    for name, frame in frames.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return {name: f"{project.server.url}/batches/{name}.csv" for name in frames}


@pytest.fixture(scope="module")
def client(project: Project) -> MlflowClient:
    return MlflowClient(project.env["MLFLOW_TRACKING_URI"])


def python_step(project: Project, module: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=project.env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def config(project: Project) -> str:
    return str(project.workdir / "tiny.yaml")


def test_lineage_traces_production_to_the_source_files(
    project: Project, pipeline: dict[str, str], client: MlflowClient
) -> None:
    download = client.get_run(pipeline["download"])
    for uri in ("models:/toxic/Production", "models:/toxic@production"):
        done = python_step(project, "toxic_mlops.mlflow_io", "lineage", "--model", uri)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert lines[0].startswith("model toxic version") and "@production" in lines[0]
        assert f"<- train run {pipeline['train']}" in lines[1]
        assert f"<- preprocess run {pipeline['preprocess']}" in lines[2]
        for item in client.get_run(pipeline["preprocess"]).inputs.dataset_inputs:
            assert f"{item.dataset.name} (digest {item.dataset.digest}, " in lines[2]
        assert f"<- download run {pipeline['download']}" in lines[3]
        digest = download.inputs.dataset_inputs[0].dataset.digest
        assert f"civil_comments-raw (digest {digest}, 1,602 rows)" in lines[3]
        assert "source hf://google/civil_comments/default/train sha256 " in lines[4]
        assert download.data.tags["data.sha256"].replace(",", ", ") in lines[4]
    missing = python_step(
        project, "toxic_mlops.mlflow_io", "lineage", "--model", "models:/toxic/Staging"
    )
    assert missing.returncode == 1 and "has no version in stage 'Staging'" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_validate_passes_a_good_batch_and_stops_a_broken_one(
    project: Project, pipeline: dict[str, str], batches: dict[str, str], client: MlflowClient
) -> None:
    run_id, output = project.step("validate", config=config(project), data=batches["same"])
    assert "validate: ok" in output
    assert client.get_run(run_id).data.tags["validation.reference_run"] == pipeline["preprocess"]
    report = {a.path for a in client.list_artifacts(run_id, "validation")}
    assert report == {"validation/report.md", "validation/report.json"}

    done = project.run(
        *project.step_args("validate", config=config(project), data=batches["no_labels"]),
        check=False,
    )
    assert done.returncode != 0
    assert "Error: the batch failed validation: schema: label column 'toxicity' is missing" in (
        done.stderr
    )
    failed = client.search_runs(
        [client.get_experiment_by_name("e2e").experiment_id],
        "tags.`mlflow.project.entryPoint` = 'validate' and attributes.status = 'FAILED'",
    )
    assert failed and failed[0].data.tags["validation.status"] == "fail"


def test_monitor_says_ok_for_the_same_source_and_drift_for_another_topic(
    project: Project, pipeline: dict[str, str], batches: dict[str, str], client: MlflowClient
) -> None:
    run_id, output = project.step("monitor", config=config(project), data=batches["same"])
    assert "monitor: ok" in output, output[-3000:]
    artifacts = {a.path for a in client.list_artifacts(run_id, "monitor")}
    assert {"monitor/report.md", "monitor/scores.png", "monitor/lengths.png"} <= artifacts
    assert client.get_run(run_id).data.tags["monitor.verdict"] == "ok"

    # Straight from the command line, for a scheduler: exit code 3 means drift, 4 degraded.
    args = ["--config", config(project), "--fail-on", "drift", "--data"]
    done = python_step(project, "steps.monitor", *args, batches["shifted_text"])
    assert done.returncode == 3, done.stderr[-3000:]
    assert "monitor: drift" in done.stdout and "token js" in done.stdout
    # With labels the same comments also show the model is wrong on them.
    done = python_step(project, "steps.monitor", *args, batches["shifted"])
    assert done.returncode == 4 and "monitor: degraded" in done.stdout and "auc drop" in done.stdout
    unlabelled = python_step(
        project, "steps.monitor", "--config", config(project), "--data", batches["no_labels"]
    )
    assert unlabelled.returncode == 0 and "monitor: ok" in unlabelled.stdout


def test_tune_runs_nested_trials_and_train_starts_from_the_best(
    project: Project, pipeline: dict[str, str], client: MlflowClient
) -> None:
    tune_run, output = project.step(
        "tune",
        config=config(project),
        preprocess_run=pipeline["preprocess"],
        n_trials="2",
        epochs="2",
    )
    trials = client.search_runs(
        [client.get_run(tune_run).info.experiment_id],
        f"tags.`mlflow.parentRunId` = '{tune_run}'",
    )
    assert len(trials) == 2 and all(t.info.status == "FINISHED" for t in trials)
    assert all("epoch_val_macro_roc_auc" in t.data.metrics for t in trials)
    tuned = client.get_run(tune_run).data
    best = yaml.safe_load(
        open(client.download_artifacts(tune_run, "tune/best_params.json", str(project.workdir)))
    )
    assert tuned.metrics["best_val_macro_roc_auc"] == max(
        t.data.metrics["val_macro_roc_auc"] for t in trials
    )
    assert f"params_from={tune_run}" in output

    train_run, _ = project.step(
        "train",
        config=config(project),
        preprocess_run=pipeline["preprocess"],
        params_from=tune_run,
        epochs="1",  # explicit -P wins over the tuned values
    )
    params = client.get_run(train_run).data.params
    assert params["training.epochs"] == "1"
    assert params["model.hidden_size"] == str(best["hidden_size"])
    assert float(params["training.learning_rate"]) == pytest.approx(best["learning_rate"])


def versions(client: MlflowClient) -> list[int]:
    return sorted(int(v.version) for v in client.search_model_versions("name='toxic'"))


def test_retrain_skips_when_nothing_drifted(
    project: Project, pipeline: dict[str, str], batches: dict[str, str], client: MlflowClient
) -> None:
    before = versions(client)
    _, output = project.step("retrain", config=config(project), new_data=batches["same"])
    assert "monitoring says ok; Production left as it is" in output
    assert versions(client) == before


def test_retrain_on_drifted_data_registers_and_lets_the_gate_decide(
    project: Project, pipeline: dict[str, str], batches: dict[str, str], client: MlflowClient
) -> None:
    production_before = current_production(client, "toxic")
    retrain, output = project.step(
        "retrain", config=config(project), new_data=batches["shifted"], epochs="3"
    )
    assert re.search(r"retrain: (drift|degraded); training on [\d,]+ rows \(1,002 new\)", output)
    new = max(client.search_model_versions("name='toxic'"), key=lambda v: int(v.version))
    promoted = new.tags["promotion.decision"] == "promoted"
    production = current_production(client, "toxic")
    assert production.version == (new.version if promoted else production_before.version)
    assert client.get_run(retrain).data.tags["retrain.promoted"] == str(promoted).lower()
    # The gate compared both models on the retrained model's own split.
    train_run = client.get_run(retrain).data.tags["retrain.train_run"]
    (evaluate,) = client.search_runs(
        [client.get_run(retrain).info.experiment_id], f"tags.`toxic.train_run` = '{train_run}'"
    )
    assert "production_val_macro_roc_auc" in evaluate.data.metrics
    # Production's memory measured the same way in the same run, and compared by the gate.
    assert "production_peak_rss_mb" in evaluate.data.metrics
    reason = new.tags["promotion.reason"]
    assert re.search(r"peak memory [\d,]+ MB vs Production [\d,]+ MB \(growth", reason), reason
    assert evaluate.data.tags["evaluate.production_version"] == (
        f"toxic/{production_before.version}"
    )
    chain = python_step(
        project, "toxic_mlops.mlflow_io", "lineage", "--model", f"models:/toxic/{new.version}"
    )
    assert chain.returncode == 0, chain.stderr
    assert f"<- retrain run {retrain}" in chain.stdout
    assert f"new data {batches['shifted']} sha256 " in chain.stdout
    assert f"<- reference preprocess run {pipeline['preprocess']}" in chain.stdout


def test_retrain_never_promotes_a_model_the_gate_refuses(
    project: Project, pipeline: dict[str, str], batches: dict[str, str], client: MlflowClient
) -> None:
    strict = tiny_config()
    # The win probability of a retrained model is data; the speed rule can be made to fail always.
    strict["registry"]["max_slowdown"] = 0.0
    path = project.workdir / "strict-retrain.yaml"
    path.write_text(yaml.safe_dump(strict, sort_keys=False))
    before = current_production(client, "toxic").version
    _, output = project.step(
        "retrain", config=str(path), new_data=batches["shifted"], force="true", epochs="1"
    )
    assert "registered, NOT promoted" in output
    assert current_production(client, "toxic").version == before

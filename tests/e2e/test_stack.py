"""The team stack, for real: PostgreSQL + SeaweedFS S3 + `mlflow server` with basic auth.

Started in a temporary folder by the same command `make stack-up` runs, then: the whole pipeline
through `mlflow run . -e main` as the pipeline user with an `s3://` data source, the model served
from the registry (pulled from S3 through the server), 401s and the read-only user's limits, the
tracking server stopped in the middle of a pipeline and restarted, and two concurrent registers.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import psycopg2
import pytest
import requests
import yaml
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from tests.conftest import ROOT, RUN_ID, Project, tiny_config
from tests.synthetic import make_comments
from toxic_mlops.mlflow_io.promotion_lock import LOCK_SUFFIX
from toxic_mlops.serving.model_server import BIN, ModelServer
from toxic_mlops.stack import Stack, processes, tracking_server
from toxic_mlops.stack.object_store import s3_client, weed_binary
from toxic_mlops.stack.processes import BUCKET, DATABASE, DB_USER, HOST, PIPELINE, READER


def _missing_binaries() -> str:
    try:
        processes.postgres_bin("initdb")
        weed_binary()
    except processes.StackError as error:
        return str(error)
    return ""


pytestmark = [
    pytest.mark.e2e,
    pytest.mark.stack,
    pytest.mark.skipif(bool(_missing_binaries()), reason=_missing_binaries()),
]
EXPERIMENT = "team"
SOURCE = f"s3://{BUCKET}/incoming/comments.parquet"
TOXIC, CLEAN = "You stupid idiot moron loser.", "Thanks the council meeting great local news."


def stack_command(action: str, root: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "toxic_mlops.stack", action, "--dir", str(root)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    # Not pytest's tmp_path: the `postgres` system user must be able to reach the data folder.
    root = Path(tempfile.mkdtemp(prefix="toxic-stack-"))
    try:
        exports = stack_command("up", root)
        assert "export MLFLOW_TRACKING_URI=" in exports
        yield Stack(root)
    finally:
        stack_command("down", root)
        shutil.rmtree(root, ignore_errors=True)


def user_env(stack: Stack, user: str) -> dict[str, str]:
    """What `source <(python -m toxic_mlops.stack env --user ...)` gives a shell + test settings."""
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "MLFLOW_TRACKING_URI": stack.tracking_uri,
        "MLFLOW_TRACKING_USERNAME": user,
        "MLFLOW_TRACKING_PASSWORD": stack.secret(user),
        "AWS_ENDPOINT_URL": stack.s3_endpoint,
        "AWS_ACCESS_KEY_ID": stack.secret("s3_access_key"),
        "AWS_SECRET_ACCESS_KEY": stack.secret("s3_secret_key"),
        "MLFLOW_EXPERIMENT_NAME": EXPERIMENT,
        "TOXIC_MLOPS_CACHE": str(stack.root / "cache"),
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        # A stopped server fails a step in seconds, not after MLflow's default ~2 min of retries.
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    }


def client_as(stack: Stack, user: str, monkeypatch: pytest.MonkeyPatch) -> MlflowClient:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", user)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", stack.secret(user))
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    return MlflowClient(stack.tracking_uri)


def mlflow_run(env: dict[str, str], entry_point: str, **params: str) -> subprocess.Popen:
    args = Project.step_args(entry_point, **params)
    args[args.index("--experiment-name") + 1] = EXPERIMENT
    return subprocess.Popen(
        [str(BIN / "mlflow"), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finished(process: subprocess.Popen, timeout: int = 1200) -> tuple[int, str]:
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise AssertionError(f"{process.args} ran over {timeout} s:\n{output[-3000:]}") from None
    return process.returncode, output


@pytest.fixture(scope="module")
def pipeline(stack: Stack) -> dict[str, str]:
    """`make experiment` + `mlflow run . -e main` as the pipeline user, data from S3."""
    env = user_env(stack, PIPELINE)
    buffer = io.BytesIO()
    make_comments(1600, seed=7).to_parquet(buffer, index=False)
    s3_client(stack).put_object(Bucket=BUCKET, Key=SOURCE.split("/", 3)[3], Body=buffer.getvalue())
    config = stack.root / "tiny.yaml"
    settings = tiny_config()
    # Speeds measured seconds apart on a busy CI machine differ by several x; the speed rule is
    # tested on its own (test_gate, test_registry), here it would only make promotion random.
    settings["registry"]["max_slowdown"] = 1e6
    settings["registry"]["max_memory_growth"] = 1e6  # steady, but not what is tested here
    # Likewise the win probability over Production (test_registry, test_e2e): these tests
    # are about the stack and the promotion lock, so any candidate may be promoted.
    settings["registry"]["min_win_probability"] = 0.0
    config.write_text(yaml.safe_dump(settings, sort_keys=False))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "toxic_mlops.mlflow_io",
            "init-tracking",
            "--experiment",
            EXPERIMENT,
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    code, output = finished(mlflow_run(env, "main", config=str(config), source=SOURCE))
    assert code == 0, output[-5000:]
    assert "register: toxic version 1 promoted to Production" in output
    return {"config": str(config), "main": RUN_ID.findall(output)[-1], "output": output}


def test_anonymous_and_wrong_password_get_401(stack: Stack) -> None:
    api = f"{stack.tracking_uri}/api/2.0/mlflow/experiments/search?max_results=1"
    assert requests.get(api, timeout=30).status_code == 401
    assert requests.get(api, auth=(PIPELINE, "wrong"), timeout=30).status_code == 401
    assert requests.get(api, auth=("nobody", "x"), timeout=30).status_code == 401
    signed_in = requests.get(api, auth=(READER, stack.secret(READER)), timeout=30)
    assert signed_in.status_code == 200
    assert requests.get(f"{stack.tracking_uri}/health", timeout=30).status_code == 200
    for secret in (stack.root / "secrets").iterdir():
        assert secret.stat().st_mode & 0o077 == 0, f"{secret} is readable by others"


def test_runs_in_postgres_artifacts_in_s3(
    stack: Stack, pipeline: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = client_as(stack, READER, monkeypatch)
    main = client.get_run(pipeline["main"])
    steps = {
        name.removeprefix("pipeline.").removesuffix("_run"): run_id
        for name, run_id in main.data.tags.items()
        if name.startswith("pipeline.")
    }
    download = client.get_run(steps["download"])
    assert download.data.tags["data.sources"] == f'["{SOURCE}"]'
    assert download.data.metrics["rows_source"] == 1602  # 1,600 + an empty and a duplicate
    assert download.inputs.dataset_inputs
    train = client.get_run(steps["train"])
    assert train.data.metrics["test_macro_roc_auc"] > 0.85
    assert train.info.artifact_uri.startswith("mlflow-artifacts:")

    keys = {
        item["Key"]
        for page in s3_client(stack).get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        for item in page.get("Contents", [])
    }
    experiment = train.info.experiment_id
    for artifact in ("plots/loss_curve.png", "data/train.parquet", "model_card.md"):
        assert any(key.endswith(artifact) for key in keys), artifact
    assert any(key.endswith("artifacts/weights.pt") for key in keys)
    assert all(key.startswith(("artifacts/", "incoming/")) for key in keys)
    assert any(key.startswith(f"artifacts/{experiment}/") for key in keys)

    port = stack.state()["ports"]["postgres"]
    database = psycopg2.connect(
        host=HOST, port=port, user=DB_USER, password=stack.secret("database"), dbname=DATABASE
    )
    with closing(database), database.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM runs WHERE experiment_id = %s", (int(experiment),))
        assert cursor.fetchone()[0] >= 6  # main + its five steps
        cursor.execute("SELECT name FROM registered_models")
        assert [row[0] for row in cursor.fetchall()] == ["toxic"]  # the lock is gone


def test_serves_production_pulled_from_s3(stack: Stack, pipeline: dict[str, str]) -> None:
    # As the read-only user: reading the registry is all serving needs.
    env = {**user_env(stack, READER)}
    with ModelServer("models:/toxic/Production", env=env, cwd=stack.root) as served:
        response = requests.post(
            f"{served.url}/invocations", json={"inputs": [TOXIC, CLEAN]}, timeout=60
        )
    assert response.status_code == 200, response.text
    scores = response.json()["predictions"]
    assert scores[0]["toxicity"] > scores[1]["toxicity"] + 0.3


def test_the_read_only_user_cannot_register_or_promote(
    stack: Stack, pipeline: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = client_as(stack, READER, monkeypatch)
    production = reader.get_model_version_by_alias("toxic", "production")
    attempts = {
        "register": lambda: reader.create_model_version(
            "toxic", production.source, production.run_id
        ),
        "move Production": lambda: reader.transition_model_version_stage(
            "toxic", production.version, "Archived"
        ),
        "move the alias": lambda: reader.set_registered_model_alias("toxic", "production", "1"),
        "delete": lambda: reader.delete_registered_model("toxic"),
    }
    for what, attempt in attempts.items():
        with pytest.raises(MlflowException) as denied:
            attempt()
        assert denied.value.error_code == "PERMISSION_DENIED", what
    after = reader.get_model_version_by_alias("toxic", "production")
    assert (after.version, after.current_stage) == (production.version, "Production")
    assert len(reader.search_model_versions("name='toxic'")) == int(production.version)


def wait_for_running_train(client: MlflowClient, experiment_id: str) -> str:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        runs = client.search_runs(
            [experiment_id],
            "tags.`mlflow.project.entryPoint` = 'train' and attributes.status = 'RUNNING'",
        )
        if runs:
            return runs[0].info.run_id
        time.sleep(0.5)
    raise AssertionError("no train run started in 300 s")


def test_server_stopped_mid_pipeline_then_main_resumes(
    stack: Stack, pipeline: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = client_as(stack, PIPELINE, monkeypatch)
    experiment_id = client.get_experiment_by_name(EXPERIMENT).experiment_id
    before = client.get_model_version_by_alias("toxic", "production").version
    versions = len(client.search_model_versions("name='toxic'"))
    env = user_env(stack, PIPELINE)
    params = {"config": pipeline["config"], "source": SOURCE, "epochs": "6"}  # a new train

    main = mlflow_run(env, "main", **params)
    wait_for_running_train(client, experiment_id)
    processes.stop(stack, "mlflow")
    try:
        code, output = finished(main)
    finally:
        tracking_server.start(stack)  # the same port, database and bucket
    assert code != 0
    assert "main: reusing finished preprocess run" in output
    # The step's answer is one line; only `mlflow run` itself, failing to mark its run FAILED
    # on the stopped server, prints a traceback after it.
    clear = re.search(r"^Error: MLflow: API request to \S+ failed with exception", output, re.M)
    assert clear is not None, output[-3000:]
    assert "Traceback" not in output[: clear.start()], output[: clear.start()][-3000:]

    assert client.get_model_version_by_alias("toxic", "production").version == before
    assert len(client.search_model_versions("name='toxic'")) == versions  # nothing half-way

    code, output = finished(mlflow_run(env, "main", **params))
    assert code == 0, output[-5000:]
    for step in ("download", "preprocess"):
        assert f"main: reusing finished {step} run" in output
    assert "main: running train" in output
    assert f"register: toxic version {versions + 1} promoted to Production" in output


def test_two_registers_at_once_leave_one_production(
    stack: Stack, pipeline: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = client_as(stack, PIPELINE, monkeypatch)
    production = client.get_model_version_by_alias("toxic", "production")
    env = user_env(stack, PIPELINE)
    both = [
        mlflow_run(env, "register", config=pipeline["config"], train_run=production.run_id)
        for _ in range(2)
    ]
    outputs = [finished(process) for process in both]
    for code, output in outputs:
        assert code == 0, output[-3000:]
        assert "promoted to Production" in output  # min_win_probability 0: any candidate

    versions = client.search_model_versions("name='toxic'")
    in_production = [v.version for v in versions if v.current_stage == "Production"]
    alias = client.get_model_version_by_alias("toxic", "production").version
    assert len(in_production) == 1 and in_production == [alias]
    assert alias == str(max(int(v.version) for v in versions))  # the later promotion won
    with pytest.raises(MlflowException):
        client.get_registered_model("toxic" + LOCK_SUFFIX)

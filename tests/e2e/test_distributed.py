"""Distributed training for real: a Spark standalone cluster and `-e train -P processes=2`.

The test starts a Spark master and two workers of one core each on 127.0.0.1 (pyspark's own
`spark-class`), trains on the e2e pipeline's preprocessed data with 2 DDP processes (one Spark
task on each worker), checks that model's validation AUC against the bootstrap interval of the
pipeline's single-process model (same data, settings and epochs), then evaluates, registers and
serves it. The cluster is stopped by PID whatever happens.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pyspark
import pytest
import requests
import yaml
from mlflow.tracking import MlflowClient

from tests.conftest import PIPELINE_EPOCHS, Project, tiny_config
from tests.e2e.test_e2e import CLEAN, TOXIC
from tests.synthetic import LABELS
from toxic_mlops.config import build_config
from toxic_mlops.contract import MODEL_URI_TAG
from toxic_mlops.data.dataset import TEXT
from toxic_mlops.evaluation.bootstrap import intervals, resampled_macro_auc
from toxic_mlops.evaluation.metrics import macro, roc_auc_per_label
from toxic_mlops.serving.model_server import ModelServer, free_port

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        subprocess.run(["which", "java"], capture_output=True).returncode != 0,
        reason="Spark needs a Java 17 runtime (Debian: apt-get install openjdk-17-jre-headless)",
    ),
]
SPARK_HOME = Path(pyspark.__file__).parent
WORKERS = 2
START_TIMEOUT_S = 180
MODEL_NAME = "toxic-ddp"


class Cluster:
    """A standalone master and its workers, each its own process group, stopped by PID."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"spark://127.0.0.1:{self.port}"
        self.processes: list[subprocess.Popen] = []
        self.env = {
            **os.environ,
            "SPARK_HOME": str(SPARK_HOME),
            "SPARK_LOCAL_IP": "127.0.0.1",
            # No REST submission server: it would take the fixed port 6066.
            "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false",
        }

    def start(self, name: str, main_class: str, *args: str) -> None:
        log = (self.folder / f"{name}.log").open("wb")
        self.processes.append(
            subprocess.Popen(
                [str(SPARK_HOME / "bin" / "spark-class"), main_class, *args],
                cwd=self.folder,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its executors and their Python workers go with it
            )
        )

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def wait_for(self, name: str, text: str, count: int = 1) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while self.log(name).count(text) < count:
            if any(p.poll() is not None for p in self.processes):
                raise RuntimeError(f"a Spark process exited:\n{self.log(name)[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name}: no {text!r} in {START_TIMEOUT_S} s")
            time.sleep(0.5)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path_factory.mktemp("spark"))
    try:
        cluster.start(
            "master",
            "org.apache.spark.deploy.master.Master",
            *("--host", "127.0.0.1", "--port", str(cluster.port)),
            *("--webui-port", str(free_port())),
        )
        cluster.wait_for("master", "I have been elected leader")
        for index in range(WORKERS):
            work = cluster.folder / f"worker{index}"
            work.mkdir()
            cluster.start(
                f"worker{index}",
                "org.apache.spark.deploy.worker.Worker",
                *("--host", "127.0.0.1", "--cores", "1", "--memory", "1g"),
                *("--webui-port", str(free_port()), "--work-dir", str(work), cluster.url),
            )
        cluster.wait_for("master", "Registering worker", count=WORKERS)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def config(project: Project) -> str:
    """The pipeline's tiny config, its own registered name, small executors."""
    raw = tiny_config()
    raw["registry"]["model_name"] = MODEL_NAME
    raw["distributed"] = {"spark_conf": {"spark.executor.memory": "512m"}}
    path = project.workdir / "tiny-ddp.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return str(path)


@pytest.fixture
def store(project: Project) -> Iterator[str]:
    """This process's mlflow on the project's store (a models:/ URI resolves there)."""
    mlflow.set_tracking_uri(project.env["MLFLOW_TRACKING_URI"])
    yield project.env["MLFLOW_TRACKING_URI"]
    mlflow.set_tracking_uri(None)


def validation_aucs(
    project: Project, store: str, preprocess_run: str, train_runs: list[str]
) -> tuple[list[float], dict[str, float]]:
    """Each train run's model's validation macro ROC-AUC, scored here through its pyfunc, and
    the bootstrap interval (evaluation settings of the config) of the first one's."""
    client = MlflowClient(store)
    val = pd.read_parquet(
        client.download_artifacts(preprocess_run, "data/val.parquet", str(project.workdir))
    )
    targets = val[LABELS].to_numpy(np.float32)
    config = build_config(tiny_config())
    threshold, rows = config.dataset.positive_threshold, config.serving.max_rows
    scores = []
    for run in train_runs:
        model = mlflow.pyfunc.load_model(client.get_run(run).data.tags[MODEL_URI_TAG])
        texts = val[TEXT].tolist()
        # At most serving.max_rows a call, each its own frame (the signature wants a 0-based index).
        chunks = [pd.DataFrame({TEXT: texts[i : i + rows]}) for i in range(0, len(texts), rows)]
        parts = [model.predict(chunk) for chunk in chunks]
        scores.append(pd.concat(parts, ignore_index=True)[LABELS].to_numpy())
    aucs = [macro(roc_auc_per_label(targets, s, LABELS, threshold)) for s in scores]
    resampled = resampled_macro_auc(targets, scores[:1], LABELS, threshold, config.evaluation)
    return aucs, intervals({"auc": resampled[0]}, config.evaluation.confidence)


def test_train_on_a_spark_cluster_then_evaluate_register_and_serve(
    project: Project, pipeline: dict[str, str], cluster: Cluster, config: str, store: str
) -> None:
    started = time.monotonic()
    train, output = project.step(
        "train",
        config=config,
        preprocess_run=pipeline["preprocess"],
        epochs=PIPELINE_EPOCHS,
        processes="2",
        master=cluster.url,
    )
    seconds = time.monotonic() - started
    assert f"train: 2 DDP processes on {cluster.url} (gloo, cpu fp32)" in output
    # The job ran on the cluster's executors, one on each worker.
    assert "Registered app toxic-mlops train (DDP)" in cluster.log("master")
    for index in range(WORKERS):
        assert "Asked to launch executor" in cluster.log(f"worker{index}")

    client = MlflowClient(project.env["MLFLOW_TRACKING_URI"])
    run = client.get_run(train)
    params, metrics = run.data.params, run.data.metrics
    assert params["distributed.processes"] == "2"
    assert params["distributed.master"] == cluster.url
    assert params["distributed.master_used"] == cluster.url
    assert params["distributed.backend_used"] == "gloo"
    assert (params["trained.device"], params["trained.precision"]) == ("cpu", "fp32")
    assert metrics["ddp_processes"] == 2 and metrics["ddp_rows_per_s_per_process"] > 0
    assert 0 < metrics["ddp_communication_share"] < 1
    assert len(client.get_metric_history(train, "epoch_val_loss")) == 1 + int(PIPELINE_EPOCHS)
    shares = client.download_artifacts(train, "distributed/processes.json", str(project.workdir))
    processes = json.loads(Path(shares).read_text())["processes"]
    assert [p["rank"] for p in processes] == [0, 1] and all(p["rows"] > 0 for p in processes)

    # The same data, settings and epochs as the pipeline's single-process train run.
    (alone, shared), interval = validation_aucs(
        project, store, pipeline["preprocess"], [pipeline["train"], train]
    )
    print(
        f"val macro ROC-AUC: 1 process {alone:.4f} (95% bootstrap {interval['auc_ci_low']:.4f}"
        f"-{interval['auc_ci_high']:.4f}), 2 DDP processes {shared:.4f}; "
        f"distributed train step {seconds:.0f} s"
    )
    assert interval["auc_ci_low"] <= shared <= interval["auc_ci_high"]

    project.step("evaluate", config=config, train_run=train)
    _, output = project.step("register", config=config, train_run=train)
    assert f"{MODEL_NAME} version 1 promoted to Production" in output
    uri = f"models:/{MODEL_NAME}/Production"
    with ModelServer(uri, env=project.env, cwd=project.workdir) as served:
        response = requests.post(
            f"{served.url}/invocations", json={"inputs": [TOXIC, CLEAN]}, timeout=60
        )
    assert response.status_code == 200, response.text
    toxic, clean = response.json()["predictions"]
    assert set(toxic) == set(LABELS)
    assert toxic["toxicity"] > clean["toxicity"] + 0.3

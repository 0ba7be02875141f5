"""Shared fixtures: a real local HTTP server, a throwaway MLflow store, tiny configs and data."""

from __future__ import annotations

import copy
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pytest
import yaml
from mlflow.entities.model_registry import ModelVersion
from mlflow.tracking import MlflowClient

from tests.synthetic import make_comments
from toxic_mlops.serving.model_server import BIN

ROOT = Path(__file__).resolve().parent.parent
RUN_ID = re.compile(r"Run \(ID '([0-9a-f]{32})'\) succeeded")
VENV = Path(sys.executable).parent.parent  # the venv running the tests; make must not rebuild it
COMMAND_TIMEOUT_S = 1800  # a safety net, not a speed check: minutes on an idle 2-core machine


class DataServer:
    """Serves files from a folder on 127.0.0.1; can fail the next N requests of a path."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.failures: dict[str, int] = {}  # path -> remaining 503 answers
        self.truncate: set[str] = set()  # paths answered with a short body
        self.requests: list[str] = []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=str(server.directory), **kwargs)

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                server.requests.append(self.path)
                if server.failures.get(self.path, 0) > 0:
                    server.failures[self.path] -= 1
                    self.send_error(503, "try again")
                    return
                if self.path in server.truncate:
                    body = (server.directory / self.path.lstrip("/")).read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    return
                super().do_GET()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def data_server(tmp_path: Path) -> Iterator[DataServer]:
    root = tmp_path / "served"
    root.mkdir()
    server = DataServer(root)
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty sqlite store, its schema migrated once: creating one costs ~1 s of migrations."""
    path = tmp_path_factory.mktemp("store") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, empty_store: Path) -> str:
    """A fresh sqlite tracking + registry store for one test (a copy of the empty one)."""
    shutil.copyfile(empty_store, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)  # the default experiment's artifacts land in tmp_path too
    mlflow.set_tracking_uri(uri)
    yield uri
    mlflow.set_tracking_uri(None)


def tiny_config() -> dict[str, Any]:
    """configs/toxic.yaml scaled down so a model trains on synthetic data in seconds."""
    config = yaml.safe_load((ROOT / "configs" / "toxic.yaml").read_text())
    config = copy.deepcopy(config)
    config["sample"]["fraction"] = 1.0
    del config["spans"]  # the public span file is not reachable offline; tests serve their own
    config["tokenizer"].update(vocab_size=300, min_frequency=1)
    config["model"].update(embedding_dim=16, hidden_size=16, ngram_buckets=4096)
    config["training"].update(epochs=4, batch_size=32, learning_rate=0.01, lr_decay=0.8, max_len=40)
    config["serving"]["max_rows"] = 100
    # A tiny LSTM on bag-of-words synthetic data need not beat TF-IDF; the rule is tested apart.
    config["registry"]["require_beat_baseline"] = False
    # The synthetic identity words ("muslims") carry the identity_attack signal: keep them.
    config["training"]["bias_mitigation"] = "none"
    return config


class Project:
    """Runs `mlflow run` against one throwaway tracking store."""

    def __init__(self, workdir: Path, server: DataServer) -> None:
        hf_endpoint = server.url
        self.server = server  # also serves the new batches of the MLOps-loop tests
        self.env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",  # uvicorn is started by name
            "MLFLOW_TRACKING_URI": f"sqlite:///{workdir / 'mlflow.db'}",
            "MLFLOW_EXPERIMENT_NAME": "e2e",
            "HF_ENDPOINT": hf_endpoint,
            "TOXIC_MLOPS_CACHE": str(workdir / "cache"),
            "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        }
        self.workdir = workdir

    def run(
        self, *args: str, check: bool = True, timeout: int = 600
    ) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [str(BIN / "mlflow"), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check:
            assert done.returncode == 0, (
                f"{args} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
            )
        return done

    @staticmethod
    def step_args(entry_point: str, **params: str) -> list[str]:
        """`mlflow run . -e entry_point` arguments with -P params."""
        args = ["run", ".", "-e", entry_point, "--env-manager", "local", "--experiment-name", "e2e"]
        for key, value in params.items():
            args += ["-P", f"{key}={value}"]
        return args

    def step(self, entry_point: str, **params: str) -> tuple[str, str]:
        """(run id, combined output) of a step that must succeed."""
        done = self.run(*self.step_args(entry_point, **params))
        output = done.stdout + done.stderr
        return RUN_ID.findall(output)[-1], output


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    workdir = tmp_path_factory.mktemp("e2e")
    served = workdir / "hub"
    served.mkdir()
    server = DataServer(served)
    server.thread.start()
    # Two parquet shards behind the Hub's listing API, like the real dataset.
    data = make_comments(1600, seed=7)
    listing = served / "api/datasets/google/civil_comments/parquet/default"
    listing.mkdir(parents=True)
    halves = [data.iloc[:800], data.iloc[800:]]
    for index, half in enumerate(halves):
        half.to_parquet(served / f"{index}.parquet", index=False)
    (listing / "train").write_text(json.dumps([f"{server.url}/{i}.parquet" for i in range(2)]))

    config = tiny_config()
    assert config["dataset"]["sources"] == ["hf://google/civil_comments/default/train"]
    (workdir / "tiny.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    yield Project(workdir, server)
    server.httpd.shutdown()
    server.httpd.server_close()


# The pipeline's train run's epochs; tests/e2e/test_distributed.py trains as many in DDP.
PIPELINE_EPOCHS = "5"


@pytest.fixture(scope="session")
def pipeline(project: Project) -> dict[str, str]:
    """Every entry point, one by one, as a user would run them; returns the run ids."""
    config = str(project.workdir / "tiny.yaml")
    init = subprocess.run(
        [
            sys.executable,
            "-m",
            "toxic_mlops.mlflow_io",
            "init-tracking",
            "--experiment",
            "e2e",
            "--artifact-root",
            str(project.workdir / "mlartifacts"),
        ],
        cwd=ROOT,
        env=project.env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "e2e" in init.stdout
    download, _ = project.step("download", config=config)
    preprocess, _ = project.step("preprocess", config=config, download_run=download)
    train, output = project.step(
        "train", config=config, preprocess_run=preprocess, epochs=PIPELINE_EPOCHS
    )
    assert f"epoch {PIPELINE_EPOCHS}:" in output
    evaluate, _ = project.step("evaluate", config=config, train_run=train)
    register, output = project.step("register", config=config)  # finds the newest train run
    assert f"using the latest train run {train}" in output
    assert "promoted to Production" in output
    return {
        "download": download,
        "preprocess": preprocess,
        "train": train,
        "evaluate": evaluate,
        "register": register,
    }


@pytest.fixture
def tiny_config_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_config(), sort_keys=False))
    return path


@pytest.fixture(scope="session")
def comments():
    return make_comments(1200, seed=0)


def synthetic_training_inputs(folder: Path) -> tuple[dict, Path]:
    """Splits of 1,500 synthetic comments and a tokenizer trained on their train split."""
    from pyfunc.text import Normalizer
    from tests.synthetic import LABELS
    from toxic_mlops.config import DatasetConfig, SplitConfig
    from toxic_mlops.data.dataset import TEXT, clean, split_frame
    from toxic_mlops.data.tokenizer import train_tokenizer

    data, _ = clean(make_comments(1500, seed=3), DatasetConfig("s", "text", LABELS), Normalizer())
    splits = split_frame(data, "toxicity", 0.5, SplitConfig(0.2, 0.2, seed=3))
    tokenizer_file = folder / "tokenizer.json"
    train_tokenizer(splits["train"][TEXT].tolist(), Normalizer(), 300, 1).save(str(tokenizer_file))
    return splits, tokenizer_file


@pytest.fixture(scope="session")
def tiny_fitted(tmp_path_factory: pytest.TempPathFactory):
    """The tiny config trained once on synthetic comments: (Fitted, splits, epochs reported)."""
    from toxic_mlops.config import build_config
    from toxic_mlops.model.training import fit

    splits, tokenizer_file = synthetic_training_inputs(tmp_path_factory.mktemp("tokenizer"))
    epochs: list = []
    fitted = fit(build_config(tiny_config()), splits, tokenizer_file, on_epoch=epochs.append)
    return fitted, splits, epochs


@pytest.fixture(scope="session")
def tiny_model(tiny_fitted):
    """A tiny network trained on synthetic comments: (scorer, splits) for behaviour tests."""
    from pyfunc.scoring import ModelSpec, Scorer
    from pyfunc.text import Normalizer
    from tests.synthetic import LABELS

    fitted, splits, _ = tiny_fitted
    spec = ModelSpec(fitted.network_config, LABELS, fitted.encoder.max_len, Normalizer())
    return Scorer(fitted.result.network, fitted.encoder, spec), splits


def run_tree(
    command: list[str], env: dict[str, str], cwd: Path = ROOT, timeout: int = COMMAND_TIMEOUT_S
) -> subprocess.CompletedProcess:
    """Run command; on timeout stop it with everything it started (make -> mlflow -> steps)."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        process.communicate()
        pytest.fail(f"{' '.join(command)} took over {timeout} s")
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def as_in_a_shell(env: Mapping[str, str]) -> dict[str, str]:
    """env as a user's shell has it: without the variables of the `make test` that may run the
    suite (a nested make prints "make[1]: Entering directory" lines a user never sees)."""
    return {k: v for k, v in env.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}


def make(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """A make target; -o: the venv running the tests is installed, make must not rebuild it."""
    return run_tree(["make", "-o", f"{VENV}/.installed", *args, f"VENV={VENV}"], as_in_a_shell(env))


@dataclass
class Demo:
    """`make demo` run once as a newcomer runs it, in a throwaway store (experiment `toxic`)."""

    workdir: Path
    env: dict[str, str]
    done: subprocess.CompletedProcess  # make demo's own output
    main_run: str
    version: ModelVersion  # what it registered, as it left it
    production_alias: str  # the version behind @production right after it

    def make(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """A make target against the demo's store."""
        return make(env or self.env, *args)

    @property
    def client(self) -> MlflowClient:
        return MlflowClient(self.env["MLFLOW_TRACKING_URI"])


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The state `make demo` leaves, shared by tests/e2e/test_demo.py (what it made) and
    tests/e2e/test_demo_day_two.py (every documented command after it)."""
    workdir = tmp_path_factory.mktemp("demo")
    env = {
        **as_in_a_shell(os.environ),
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",  # as with the venv activated
        "MLFLOW_TRACKING_URI": f"sqlite:///{workdir / 'mlflow.db'}",
        "MLFLOW_EXPERIMENT_NAME": "toxic",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        "HOME": str(workdir),  # no download cache or anything else from the user's home
    }
    # The experiment first, so its artifacts land in workdir; make demo then finds it.
    init = [sys.executable, "-m", "toxic_mlops.mlflow_io", "init-tracking", "--experiment", "toxic"]
    run_tree([*init, "--artifact-root", str(workdir / "mlartifacts")], env).check_returncode()
    done = make(env, "demo")
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    (main,) = client.search_runs(
        [client.get_experiment_by_name("toxic").experiment_id],
        "tags.`mlflow.project.entryPoint` = 'main'",
    )
    (version,) = client.search_model_versions("name='toxic'")
    alias = client.get_model_version_by_alias("toxic", "production").version
    return Demo(workdir, env, done, main.info.run_id, version, alias)

"""The serving image, built and run for real: `make image` from the demo model on base.sh's
Debian base (no container registry is needed), started read-only as `make image-run` does.

Needs a Docker engine; toxic_mlops/serving/image/dockerd.sh starts one when none runs and stops it
afterwards. Without one the tests skip, unless CI=true or TOXIC_MLOPS_REQUIRE_DOCKER=1 (.ci/run).
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import requests
import torch
import yaml
from mlflow.pyfunc.scoring_server import predictions_to_json

from tests.conftest import ROOT, Demo, make

pytestmark = pytest.mark.e2e

IMAGE_DIR = ROOT / "toxic_mlops" / "serving" / "image"
MODEL = "models:/toxic/Production"
MAX_IMAGE_BYTES = 1_200_000_000  # issue 22's target (MLflow's build-docker image: 2.17 GB)
READY_TIMEOUT_S = 120  # a safety net: bench/image.py measures the time to ready
# The machine's own CAs: the build gets them only as a BuildKit secret (in the CA bundle).
LOCAL_CAS = Path("/usr/local/share/ca-certificates")
# Where the build stage mounts the pip settings (build.sh, Dockerfile): no file may mention them.
BUILD_MOUNTS = (b"/run/secrets/pip.env", b"/run/secrets/ca", b"/run/build/")
# Files no layer may hold: package lists, pip caches and settings, the build's mounts.
LEFT_OVER = re.compile(
    r"(^|/)(var/lib/apt/lists/.+|\.cache/pip/|pip\.(conf|env)$|run/(secrets|build)/)"
)
README_BODIES = re.compile(r"""-d '(\{"inputs".*?\})'""")


def needs_docker(reason: str) -> None:
    if os.environ.get("CI") == "true" or os.environ.get("TOXIC_MLOPS_REQUIRE_DOCKER"):
        pytest.fail(reason)
    pytest.skip(reason)


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


@pytest.fixture(scope="module")
def engine() -> Iterator[None]:
    helper = IMAGE_DIR / "dockerd.sh"
    started = subprocess.run(["bash", str(helper), "start"], capture_output=True, text=True)
    if started.returncode != 0:
        needs_docker(started.stderr.strip())
    yield
    if started.stdout.startswith("started"):
        subprocess.run(["bash", str(helper), "stop"], check=True)


@pytest.fixture(scope="module")
def image(engine: None, demo: Demo) -> Iterator[str]:
    base = subprocess.run(["bash", str(IMAGE_DIR / "base.sh")], capture_output=True, text=True)
    if base.returncode != 0:
        needs_docker(base.stderr.strip().splitlines()[-1])
    tag = f"toxic-serving:test-{os.getpid()}"
    # The user's home, not the demo's: base.sh's cache and docker's settings live there.
    env = {**os.environ, "MLFLOW_TRACKING_URI": demo.env["MLFLOW_TRACKING_URI"]}
    done = make(env, "image", f"MODEL={MODEL}", f"IMAGE={tag}", f"BASE_IMAGE={base.stdout.strip()}")
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    yield tag
    docker("rmi", tag)


@dataclass(frozen=True)
class Container:
    name: str
    url: str


@pytest.fixture(scope="module")
def container(image: str) -> Iterator[Container]:
    name = image.replace(":", "-")
    # Not the defaults, to see the environment reach the server: THREADS as many as in-process
    # (the same float arithmetic), a 1 s health interval so the check is seen passing soon.
    settings = ["-e", "PORT=9000", "-e", "WORKERS=2", "-e", f"THREADS={torch.get_num_threads()}"]
    run = ["run", "--detach", "--name", name, "--read-only", "--publish", "127.0.0.1::9000"]
    docker(*run, "--health-interval", "1s", *settings, image)
    try:
        address = docker("port", name, "9000").stdout.split()[0]
        url = f"http://{address}"
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not ping(url):
            state = docker("inspect", "--format", "{{.State.Status}}", name).stdout.strip()
            assert state == "running", docker("logs", name).stderr[-3000:]
            assert time.monotonic() < deadline, f"no /ping in {READY_TIMEOUT_S} s"
            time.sleep(0.2)
        yield Container(name, url)
    finally:
        docker("rm", "--force", name)


def ping(url: str) -> bool:
    try:
        return requests.get(f"{url}/ping", timeout=1).status_code == 200
    except requests.RequestException:  # refused, or accepted but not answering yet
        return False


@pytest.fixture(scope="module")
def in_process(demo: Demo) -> Iterator[Callable[[str], bytes]]:
    """The JSON the scoring server sends for a request body, computed in this process."""
    mlflow.set_tracking_uri(demo.env["MLFLOW_TRACKING_URI"])
    model = mlflow.pyfunc.load_model(MODEL)

    def answer(body: str) -> bytes:
        request = json.loads(body)
        scores = model.predict(pd.DataFrame({"text": request["inputs"]}), request.get("params"))
        out = io.StringIO()
        predictions_to_json(scores, out)
        return out.getvalue().encode()

    yield answer
    mlflow.set_tracking_uri(None)


def test_the_readme_requests_answer_as_in_process(
    container: Container, in_process: Callable[[str], bytes]
) -> None:
    plain, explained = README_BODIES.findall((ROOT / "README.md").read_text())
    assert '"explain": true' in explained
    for body in (plain, explained):
        response = requests.post(
            f"{container.url}/invocations",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        assert response.content == in_process(body)


def test_a_bad_request_gets_a_400_that_says_what_to_send(container: Container) -> None:
    def post(body: object) -> requests.Response:
        return requests.post(f"{container.url}/invocations", json=body, timeout=60)

    wrong = post({"inputs": [1, 2]})
    assert wrong.status_code == 400
    assert "Every input must be a string; item 0 is int (1)" in wrong.json()["message"]
    # The row limit holds only inside MLflow's scoring server: the entrypoint starts it as such.
    max_rows = yaml.safe_load((ROOT / "configs" / "sample.yaml").read_text())["serving"]["max_rows"]
    too_many = post({"inputs": ["a"] * (max_rows + 1)})
    assert too_many.status_code == 400
    assert f"Too many comments in one request: {max_rows + 1} > {max_rows}" in too_many.text


def test_the_server_runs_as_set_not_as_root_on_a_read_only_file_system(
    container: Container,
) -> None:
    status = docker("exec", container.name, "cat", "/proc/1/status").stdout
    assert re.search(r"^Uid:\s+10001\s", status, re.MULTILINE), status
    command = docker("exec", container.name, "cat", "/proc/1/cmdline").stdout.split("\0")
    assert command[command.index("--port") + 1] == "9000"
    assert command[command.index("--workers") + 1] == "2"
    environ = docker("exec", container.name, "cat", "/proc/1/environ").stdout.split("\0")
    threads = {"num_threads": torch.get_num_threads()}
    assert f"MLFLOW_PYFUNC_INFERENCE_CONFIG={json.dumps(threads)}" in environ
    write = docker("exec", container.name, "touch", "/opt/model/x", check=False)
    assert write.returncode != 0 and "Read-only file system" in write.stderr
    deadline = time.monotonic() + 30
    while (health := health_of(container.name)) != "healthy":
        assert health == "starting" and time.monotonic() < deadline, health
        time.sleep(0.5)


def health_of(name: str) -> str:
    return docker("inspect", "--format", "{{.State.Health.Status}}", name).stdout.strip()


def test_a_bad_setting_stops_the_container_with_one_line(image: str) -> None:
    done = docker("run", "--rm", "-e", "WORKERS=two", image, check=False)
    assert done.returncode == 2
    assert done.stderr == "WORKERS must be a whole number, got 'two'\n"


def test_the_image_is_small_and_holds_no_build_settings(image: str) -> None:
    size = int(docker("image", "inspect", "--format", "{{.Size}}", image).stdout)
    assert size <= MAX_IMAGE_BYTES, f"{size / 1e9:.2f} GB"
    history = docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", image).stdout
    assert "PIP_" not in history and "secret" not in history, history

    markers = [*BUILD_MOUNTS, *(first_base64_line(ca) for ca in LOCAL_CAS.glob("**/*.crt"))]
    seen, found = 0, []
    save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
    with tarfile.open(fileobj=save.stdout, mode="r|") as archive:
        for entry in archive:
            if not entry.name.endswith("layer.tar"):
                continue
            with tarfile.open(fileobj=archive.extractfile(entry), mode="r|") as layer:
                for member in layer:
                    seen += 1
                    if LEFT_OVER.search(member.name):
                        found.append(member.name)
                    # Settings and certificates are text: no need to read the large libraries.
                    if member.isfile() and member.size < 5_000_000:
                        content = layer.extractfile(member).read()
                        found += [f"{member.name}: {m!r}" for m in markers if m in content]
    assert save.wait() == 0
    assert seen > 10_000, "the layers were not read"
    assert not found, found


def first_base64_line(certificate: Path) -> bytes:
    lines = certificate.read_bytes().splitlines()
    return lines[lines.index(b"-----BEGIN CERTIFICATE-----") + 1]

"""The serving image (make image): its size, time to ready, answers, and what pip resolves for it.

    python -m bench.perf.image --image toxic-serving --model models:/toxic/Production [--starts 5] \
        [--build BASE_IMAGE]

Needs a Docker engine and the image built (`make image`) from the same model, or --build: then
`make image` builds it first twice, timed: cold (BuildKit's build cache pruned) and cached. Size:
what `docker image inspect` reports. Ready: from `docker run` to the first 200 from /ping, the
container started as `make image-run` starts it (read-only, defaults). Answers: the README's two
requests against the same requests scored in this process and serialised by MLflow's scoring
server code, byte for byte. pip: `pip install --dry-run --report` of the model's requirements.txt
(a) with this machine's pip settings, (b) isolated (PyPI and the file's own index lines only), and
(c) isolated with the pin the model logged before (`torch==<release>`), each with --retries 0 so
that an unreachable index costs one failed lookup per package, not five.
"""

from __future__ import annotations

import io
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mlflow
import pandas as pd
import requests
from mlflow.pyfunc.scoring_server import predictions_to_json

from bench.cli import bench_parser
from bench.common import ROOT, Summary, figure, record

CUDA_PACKAGES = re.compile(r"^(nvidia-|cuda-|triton$)")
README_BODIES = re.compile(r"""-d '(\{"inputs".*?\})'""")


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout


def start(image: str) -> tuple[str, str, dict[str, float]]:
    """(container, URL, timings): seconds from `docker run` to its return and to the first 200
    from /ping, and the CPU seconds the server used until then (less hostage to the load)."""
    started = time.perf_counter()
    container = docker("run", "--detach", "--read-only", "--publish", "127.0.0.1::8080", image)
    container = container.strip()
    created = time.perf_counter() - started
    url = "http://" + docker("port", container, "8080").split()[0]
    while time.perf_counter() - started < 300:
        try:
            if requests.get(f"{url}/ping", timeout=1).status_code == 200:
                ready = time.perf_counter() - started
                break
        except requests.RequestException:  # refused, or accepted but not answering yet
            time.sleep(0.05)
    else:
        raise RuntimeError(f"no /ping in 300 s:\n{docker('logs', container)}")
    # /proc/1/stat fields 14 and 15: user and system time of the server (PID 1), in ticks.
    stat = docker("exec", container, "cat", "/proc/1/stat").rsplit(")", 1)[1].split()
    cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    return container, url, {"run_s": round(created, 2), "ready_s": round(ready, 2), "cpu_s": cpu}


def build(image: str, model: str, base_image: str) -> dict[str, float]:
    venv = Path(sys.executable).parent.parent
    make = ["make", "-o", f"{venv}/.installed", "image", f"VENV={venv}", f"MODEL={model}"]
    docker("builder", "prune", "--all", "--force")
    seconds = {}
    for kind in ("cold", "cached"):
        started = time.perf_counter()
        subprocess.run(
            [*make, f"IMAGE={image}", f"BASE_IMAGE={base_image}"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        seconds[f"{kind}_s"] = round(time.perf_counter() - started, 1)
    return seconds


def identical_answers(url: str, model_uri: str) -> list[bool]:
    model = mlflow.pyfunc.load_model(model_uri)
    same = []
    for body in README_BODIES.findall((ROOT / "README.md").read_text()):
        request = json.loads(body)
        scores = model.predict(pd.DataFrame({"text": request["inputs"]}), request.get("params"))
        expected = io.StringIO()
        predictions_to_json(scores, expected)
        served = requests.post(
            f"{url}/invocations",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
            timeout=60,
        )
        same.append(served.content == expected.getvalue().encode())
    return same


def dry_run(requirements: Path, *options: str) -> dict:
    """What pip would install for requirements, or why it cannot."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed"]
        command += ["--quiet", "--retries", "0", "--report", str(report), *options]
        started = time.perf_counter()
        done = subprocess.run([*command, "-r", str(requirements)], capture_output=True, text=True)
        seconds = round(time.perf_counter() - started, 1)
        if done.returncode != 0:
            errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
            return {"resolved": False, "errors": errors, "seconds": seconds}
        packages = {
            item["metadata"]["name"].lower(): item["metadata"]["version"]
            for item in json.loads(report.read_text())["install"]
        }
    return {
        "resolved": True,
        "seconds": seconds,
        "packages": len(packages),
        "torch": packages.get("torch"),
        "cuda_packages": sorted(name for name in packages if CUDA_PACKAGES.match(name)),
    }


def main() -> None:
    parser = bench_parser(__doc__, model_uri="models:/toxic/Production")
    parser.add_argument("--image", default="toxic-serving")
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--build", metavar="BASE_IMAGE", help="build the image first, timed")
    args = parser.parse_args()

    # A shared machine: the load around the measurement says how much the timings mean.
    load_before = os.getloadavg()
    build_s = build(args.image, args.model_uri, args.build) if args.build else None
    size = int(docker("image", "inspect", "--format", "{{.Size}}", args.image))
    layers = [
        {"bytes": int(line.split("\t")[0]), "created_by": line.split("\t")[1][:100]}
        for line in docker(
            "history", "--human=false", "--format", "{{.Size}}\t{{.CreatedBy}}", args.image
        ).splitlines()
        if int(line.split("\t")[0]) > 1_000_000
    ]
    starts, identical = [], []
    for run in range(args.starts):
        container, url, timings = start(args.image)
        try:
            starts.append(timings)
            if run == 0:
                identical = identical_answers(url, args.model_uri)
        finally:
            docker("rm", "--force", container)

    with tempfile.TemporaryDirectory() as tmp:
        logged = mlflow.artifacts.download_artifacts(
            f"{args.model_uri}/requirements.txt", dst_path=tmp
        )
        requirements = Path(logged).read_text().splitlines()
        bare_torch = next(line for line in requirements if line.startswith("torch==")).split("+")[0]
        # What packaging.py logged before: no index line, torch pinned to the bare release.
        bare_pin = Path(tmp) / "bare_pin.txt"
        others = [line for line in requirements if not line.startswith(("--", "torch=="))]
        bare_pin.write_text("\n".join([*others, bare_torch]) + "\n")
        # --isolated drops every pip setting of this machine, its CA bundle too: give that back.
        cert = ["--cert", os.environ["PIP_CERT"]] if "PIP_CERT" in os.environ else []
        isolated = ["--isolated", *cert]
        pip = {
            "machine_settings": dry_run(Path(logged)),
            "isolated": dry_run(Path(logged), *isolated),
            "isolated_bare_torch_pin": dry_run(bare_pin, *isolated),
        }

    record(
        "image",
        {
            "image": args.image,
            "model": args.model_uri,
            "build_base_image": args.build,
            "build_s": build_s,
            "size_bytes": size,
            "layers_over_1_mb": layers,
            "starts": starts,
            "ready_median_s": statistics.median(timing["ready_s"] for timing in starts),
            "ready_cpu_median_s": statistics.median(timing["cpu_s"] for timing in starts),
            "load_average_before_after": [load_before, os.getloadavg()],
            "readme_answers_identical": identical,
            "requirements": requirements,
            "pip_dry_run": pip,
        },
    )


def summarize(report: dict) -> Summary:
    """Size, time to ready, answers, and whether pip's resolution holds a CUDA package."""
    pip = report["pip_dry_run"]
    cuda = {name: run.get("cuda_packages") for name, run in pip.items()}
    rows = [
        ("image size", f"{report['size_bytes'] / 1e9:.3g} GB"),
        ("ready: docker run to first /ping 200 (median)", f"{figure(report['ready_median_s'])} s"),
        ("CPU seconds to ready (median)", figure(report["ready_cpu_median_s"])),
        ("README answers byte-identical to in-process", all(report["readme_answers_identical"])),
        *(
            (f"build {kind}", f"{figure(seconds)} s")
            for kind, seconds in (report.get("build_s") or {}).items()
        ),
        *(
            (f"pip resolution, {name}: CUDA packages", figure(len(found)) if found else "none")
            for name, found in cuda.items()
            if found is not None
        ),
    ]
    sentence = (
        f"The serving image of {report['model']} ({report['image']}): "
        f"{report['size_bytes'] / 1e9:.3g} GB, ready in {figure(report['ready_median_s'])} s "
        "(measured with the machine loaded, see the load average in the JSON); the model's own "
        "requirements resolve to a CPU torch, the pin logged before to a CUDA build."
    )
    return Summary(sentence, ("figure", "value"), rows)


if __name__ == "__main__":
    main()

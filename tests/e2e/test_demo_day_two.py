"""The day after `make demo`: every command README.md and docs/operations.md show (the offline
ones), run as printed on the state `make demo` left (tests/conftest.py `demo`, shared with
tests/e2e/test_demo.py), with the exit codes and outputs the docs claim.

The docs are read, not copied: every line of their bash blocks is either run here (RUN_HERE) or
listed in NOT_RUN with the reason, so a new or changed command fails the first test until it is
checked. The figures the docs quote are checked by `docs-figures --check`. Tests run in file
order on one store: the forced retrain, which may promote a new version, comes last.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml

from tests.conftest import ROOT, VENV, Demo, run_tree
from toxic_mlops.mlflow_io.docs_figures import BLOCK
from toxic_mlops.serving.model_server import free_port

pytestmark = pytest.mark.e2e

DOCS = ("README.md", "docs/operations.md")
BATCH_LINE = re.compile(r"^python -c .*to_csv\('build/batch\.csv'")
# Warnings from our own calls that no user can act on, and tracebacks: none may be printed.
NOISE = re.compile(
    r"Traceback|FutureWarning|DeprecationWarning|Pandas4Warning|SettingWithCopy"
    r"|dataset source can be interpreted|Inferred schema contains integer"
)

# Every documented command this file runs, as the docs print it.
RUN_HERE = {
    "make demo": "the session's `demo` fixture",
    "make serve": "test_make_serve_answers_the_readme_curl",
    "curl -s localhost:5000/invocations -H 'Content-Type: application/json' -d "
    """'{"inputs": ["you are a total idiot", "thanks, that was helpful"]}'""": "same",
    "curl -s localhost:5000/invocations -H 'Content-Type: application/json' -d "
    """'{"inputs": ["you are a total idiot"], "params": {"explain": true}}'""": "same",
    "source .venv/bin/activate": "every command runs with the venv's bin first on PATH",
    "export MLFLOW_TRACKING_URI=sqlite:///$PWD/mlflow.db MLFLOW_EXPERIMENT_NAME=toxic": (
        "test_readme_main_is_make_demo (the demo's store stands in for $PWD/mlflow.db)"
    ),
    "mlflow run . -e main --env-manager local -P config=configs/sample.yaml": (
        "test_readme_main_is_make_demo"
    ),
    "mlflow run . -e train --env-manager local": "test_readme_train_step",
    "make lineage MODEL=models:/toxic/Production": "test_lineage_has_the_documented_shape",
    "python -m steps.monitor --data new.csv --fail-on drift": "test_monitor_for_a_scheduler",
    "source .venv/bin/activate && mkdir -p build": "the batch fixture",
    "python -c \"import pandas as pd; pd.read_csv('data/jigsaw_wiki_sample.csv.gz')"
    ".sample(500, random_state=1).to_csv('build/batch.csv', index=False)\"": "the batch fixture",
    "make validate DATA=build/batch.csv": "test_validate_and_monitor_the_batch",
    "make monitor DATA=build/batch.csv": "test_validate_and_monitor_the_batch",
    "make retrain DATA=build/batch.csv": "test_retrain_skips_an_ok_batch",
    "make tune TRIALS=2": "test_tune_and_the_train_command_it_prints",
    "make lineage": "test_lineage_has_the_documented_shape",
    "mlflow run . -e train --env-manager local --experiment-name toxic "
    "-P params_from=<tune run id>": "test_tune_and_the_train_command_it_prints",
    "mlflow run . -e retrain --env-manager local -P new_data=labelled.csv -P force=true": (
        "test_forced_retrain_on_the_demo"
    ),
}
NOT_RUN = {
    "make page": "a server for a browser: tests/e2e/test_page.py drives the page",
    "make test": "this suite",
    "mlflow run . -e main --env-manager local": "downloads Civil Comments (internet)",
    "mlflow models serve -m models:/toxic/Production --env-manager local": (
        "what `make serve` runs, checked there"
    ),
    "mlflow run . -e retrain --env-manager local -P "
    "new_data=s3://bucket/comments/2026-11.parquet": "an S3 bucket",
    "0 6 * * * cd /srv/toxic-mlops && .venv/bin/python -m steps.monitor --data "
    "https://data.internal/today.csv --fail-on degraded || alert-oncall": "a crontab line",
    "0 7 * * 1 cd /srv/toxic-mlops && make retrain "
    "DATA=https://data.internal/last-week-labelled.csv": "a crontab line",
    "- run: make retrain DATA=data/new/${{ github.sha }}.csv": "a GitHub Actions step",
}


def doc_lines(path: Path) -> list[tuple[str, str]]:
    """(command, comment) of every line of the file's bash blocks; continued lines joined."""
    lines: list[tuple[str, str]] = []
    for block in re.findall(r"```bash\n(.*?)```", path.read_text(), re.S):
        for line in block.replace("\\\n", " ").splitlines():
            command, _, comment = re.sub(r"\s+", " ", line).partition(" # ")
            if command.strip() and not command.startswith("#"):
                lines.append((command.strip(), comment.strip()))
    return lines


def documented() -> dict[str, str]:
    """Every documented command and its comment (the output it claims, for some)."""
    return {command: comment for doc in DOCS for command, comment in doc_lines(ROOT / doc)}


def shell(
    demo: Demo, command: str, placeholders: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """A documented command line as a user types it in the project folder after `make demo`:
    its placeholders (a file name) filled, build/ in the demo's folder, make told the venv is
    installed."""
    assert command in documented(), f"not in the docs any more: {command}"
    line = re.sub(r"\bbuild\b", f"{demo.workdir}/build", command)
    for placeholder, value in (placeholders or {}).items():
        line = line.replace(placeholder, value)
    line = line.replace(".venv/bin/activate", f"{VENV}/bin/activate")
    line = re.sub(r"^make ", f"make -o {VENV}/.installed VENV={VENV} ", line)
    return run_tree(["bash", "-c", line], demo.env)


def succeeded(done: subprocess.CompletedProcess) -> str:
    """Its output; it must have exited 0 and printed no traceback or warning of ours."""
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{done.args}:\n{output[-5000:]}"
    assert not NOISE.search(output), NOISE.search(output)[0] + f" in:\n{output[-5000:]}"
    return output


def claims(output: str, comment: str) -> None:
    """The comment beside a documented command is what it prints, in order ("..." elides)."""
    position = 0
    for part in (p.strip() for p in comment.split("...")):
        found = output.find(part, position)
        assert found >= 0, f"the docs say {part!r}; it printed:\n{output[-3000:]}"
        position = found + len(part)


def readme_answer() -> list[dict[str, float]]:
    (body,) = [m["body"] for m in BLOCK.finditer((ROOT / "README.md").read_text())]
    return json.loads(body.strip().removeprefix("```json").removesuffix("```"))["predictions"]


def assert_readme_answer(predictions: list[dict[str, float]]) -> None:
    """The README's answer is the real one, rounded to its 4 decimals."""
    quoted = readme_answer()
    assert [list(p) for p in predictions] == [list(q) for q in quoted]
    for got, want in zip(predictions, quoted, strict=True):
        for label, value in want.items():
            assert abs(got[label] - value) <= 0.00005 + 1e-9, (label, got[label], value)


@pytest.fixture(scope="module")
def batch(demo: Demo) -> Path:
    """build/batch.csv, made as docs/operations.md says (in the demo's folder, not the repo's)."""
    (make_batch,) = [c for c in documented() if BATCH_LINE.match(c)]
    succeeded(shell(demo, "source .venv/bin/activate && mkdir -p build"))
    succeeded(shell(demo, make_batch))
    return demo.workdir / "build" / "batch.csv"


def test_every_documented_command_is_run_here_or_says_why_not() -> None:
    commands = set(documented())
    assert commands - RUN_HERE.keys() - NOT_RUN.keys() == set(), "add them to RUN_HERE or NOT_RUN"
    assert (RUN_HERE.keys() | NOT_RUN.keys()) - commands == set(), "gone from the docs"


def test_the_docs_quote_the_demo_models_figures(demo: Demo) -> None:
    done = run_tree(
        [f"{VENV}/bin/python", "-m", "toxic_mlops.mlflow_io", "docs-figures", "--check"], demo.env
    )
    # On failure its one line names the blocks and the command that regenerates them.
    assert done.returncode == 0, done.stderr[-3000:]


def test_make_serve_answers_the_readme_curl(demo: Demo, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "make-serve.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            ["make", "-o", f"{VENV}/.installed", "serve", f"VENV={VENV}", f"PORT={port}"],
            cwd=ROOT,
            env=demo.env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if requests.get(f"http://127.0.0.1:{port}/ping", timeout=2).ok:
                    break
            # Refused before uvicorn binds; a timeout while its worker still loads the model.
            except requests.RequestException:
                time.sleep(1)
        else:
            pytest.fail(f"no /ping (exit code {server.poll()}):\n{log.read_text()[-3000:]}")
        curls = [c for c in documented() if c.startswith("curl ")]
        answers = []
        for curl in curls:
            line = curl.replace("localhost:5000", f"127.0.0.1:{port}")
            answers.append(json.loads(succeeded(run_tree(["bash", "-c", line], demo.env))))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    plain, explained = answers
    assert_readme_answer(plain["predictions"])
    # "its spans come from the linear path's word weights and are rough (`you are a` in the
    # example below)"
    (rough,) = re.findall(r"are rough \(`([^`]+)` in the example below\)", read("README.md"))
    (explanation,) = [p["explanation"] for p in explained["predictions"]]
    assert rough in [span["text"] for span in explanation["spans"]]


def test_load_model_snippet_works_from_any_folder_with_the_tracking_uri(
    demo: Demo, tmp_path: Path
) -> None:
    readme = (ROOT / "README.md").read_text()
    (snippet,) = re.findall(r"`(mlflow\.pyfunc\.load_model\(.*?\))`", readme)
    assert "`MLFLOW_TRACKING_URI` set as above" in readme
    inputs = readme_inputs()
    code = (
        "import json, mlflow, pandas as pd\n"
        f"print(json.dumps({snippet.replace('[...]', repr(inputs))}.to_dict(orient='records')))"
    )
    done = run_tree([f"{VENV}/bin/python", "-c", code], demo.env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert_readme_answer(json.loads(done.stdout.splitlines()[-1]))
    assert not (tmp_path / "mlflow.db").exists()  # it read the demo's store, made no new one


def readme_inputs() -> list[str]:
    (curl,) = [c for c in documented() if c.startswith("curl ") and "explain" not in c]
    return json.loads(shlex.split(curl)[-1])["inputs"]


def test_readme_main_is_make_demo(demo: Demo) -> None:
    """`= make demo`: the same store and experiment, so every step is reused, nothing added."""
    makefile = (ROOT / "Makefile").read_text()
    assert "export MLFLOW_TRACKING_URI ?= sqlite:///mlflow.db" in makefile
    assert "export MLFLOW_EXPERIMENT_NAME ?= toxic" in makefile
    versions = len(demo.client.search_model_versions("name='toxic'"))
    output = succeeded(
        shell(demo, "mlflow run . -e main --env-manager local -P config=configs/sample.yaml")
    )
    main = demo.client.get_run(demo.main_run).data.tags
    for step in ("download", "preprocess", "train", "evaluate", "register"):
        assert f"reusing finished {step} run {main[f'pipeline.{step}_run']}" in output, output
    assert f"is toxic version {demo.version.version}" in output
    assert len(demo.client.search_model_versions("name='toxic'")) == versions


def test_validate_and_monitor_the_batch(demo: Demo, batch: Path) -> None:
    for command in ("make validate DATA=build/batch.csv", "make monitor DATA=build/batch.csv"):
        output = succeeded(shell(demo, command))
        claims(output, documented()[command])
        step = command.split()[1]
        assert f"{step}: config configs/sample.yaml, recorded on models:/toxic/Production" in output


def test_monitor_for_a_scheduler(demo: Demo, batch: Path) -> None:
    command = "python -m steps.monitor --data new.csv --fail-on drift"
    done = shell(demo, command, {"new.csv": str(batch)})
    assert done.returncode == 0, done.stderr[-3000:]  # 0: ok, the batch is the training data's
    assert "monitor: ok" in done.stdout


def test_retrain_skips_an_ok_batch(demo: Demo, batch: Path) -> None:
    before = len(demo.client.search_model_versions("name='toxic'"))
    command = "make retrain DATA=build/batch.csv"
    claims(succeeded(shell(demo, command)), documented()[command])
    assert len(demo.client.search_model_versions("name='toxic'")) == before


def test_tune_and_the_train_command_it_prints(demo: Demo) -> None:
    output = succeeded(shell(demo, "make tune TRIALS=2"))
    claims(output, documented()["make tune TRIALS=2"])
    (hint,) = re.findall(r"tune: train with it: (.*)", output)
    tune_run = hint.rsplit("=", 1)[1]
    documented_hint = "mlflow run . -e train --env-manager local --experiment-name toxic -P "
    assert hint == documented_hint + f"params_from={tune_run}"
    # As printed, from a shell that never exported the experiment: the hint names it.
    env = {k: v for k, v in demo.env.items() if k != "MLFLOW_EXPERIMENT_NAME"}
    output = succeeded(run_tree(shlex.split(hint), env))
    (train_run,) = re.findall(r"Run \(ID '([0-9a-f]{32})'\) succeeded", output)
    train = demo.client.get_run(train_run)
    demo_preprocess = demo.client.get_run(demo.main_run).data.tags["pipeline.preprocess_run"]
    assert train.info.experiment_id == demo.client.get_run(demo.main_run).info.experiment_id
    assert train.data.tags["toxic.preprocess_run"] == demo_preprocess
    assert train.data.tags["toxic.config"] == "configs/sample.yaml"
    best = demo.client.get_run(tune_run).data.params
    for name in ("ngram_c", "hidden_size"):
        section = "model" if name == "hidden_size" else "training"
        assert float(train.data.params[f"{section}.{name}"]) == float(best[f"best.{name}"])


def test_readme_train_step(demo: Demo) -> None:
    output = succeeded(shell(demo, "mlflow run . -e train --env-manager local"))
    preprocess = demo.client.get_run(demo.main_run).data.tags["pipeline.preprocess_run"]
    assert f"train: using the latest preprocess run {preprocess}" in output
    assert f"train: config configs/sample.yaml, recorded on preprocess run {preprocess}" in output


def test_lineage_has_the_documented_shape(demo: Demo) -> None:
    """The demo's chain, line by line, as the documented example (another model's) shows one."""
    example = re.search(r"```\n(model toxic-wiki version .*?)```", read("docs/operations.md"), re.S)
    shape = re.compile(r"\s*(<- )?(model|\w+ run|source)")
    lines = [shape.match(line)[0] for line in example[1].splitlines()]
    for command in ("make lineage", "make lineage MODEL=models:/toxic/Production"):
        done = shell(demo, command)
        comment = documented()[command]
        claims(succeeded(done), "" if comment.startswith("=") else comment)
        tree = done.stdout[done.stdout.index("model toxic version") :].splitlines()
        assert [shape.match(line)[0] for line in tree] == lines
        assert re.search(r"test macro ROC-AUC 0\.\d{4} \(6 labels\)", tree[1])


def read(doc: str) -> str:
    return (ROOT / doc).read_text()


def test_errors_are_one_line_with_a_command_that_runs(demo: Demo, tmp_path: Path) -> None:
    # make without the batch it needs: one line, before anything runs.
    done = demo.make("validate")
    assert done.returncode == 2
    assert "no batch: make validate DATA=<path or URL of a CSV/parquet batch>" in done.stderr
    # A config nothing was run with: what to run, runnable as printed.
    done = demo.make("tune", "CONFIG=configs/jigsaw_wiki.yaml", "TRIALS=1")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert (
        "Error: no finished preprocess run made with config configs/jigsaw_wiki.yaml in "
        "experiment 'toxic': run the chain first (`mlflow run . -e main --env-manager local "
        "-P config=configs/jigsaw_wiki.yaml`, or offline `make demo`), or pass "
        "-P preprocess_run=<run id>"
    ) in done.stderr
    # A config without a search space.
    config = yaml.safe_load(read("configs/sample.yaml"))
    del config["tune"]
    plain = tmp_path / "no-search.yaml"
    plain.write_text(yaml.safe_dump(config))
    preprocess = demo.client.get_run(demo.main_run).data.tags["pipeline.preprocess_run"]
    tune = ["mlflow", "run", ".", "-e", "tune", "--env-manager", "local", "-P", f"config={plain}"]
    done = run_tree([*tune, "-P", f"preprocess_run={preprocess}"], demo.env)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert f"Error: {plain} has no tune.search_space to search" in done.stderr


def test_forced_retrain_on_the_demo(demo: Demo, batch: Path) -> None:
    """docs/operations.md's forced retrain: the demo's data (its unknown sub-labels included)
    plus the batch, with the config Production was trained with."""
    before = len(demo.client.search_model_versions("name='toxic'"))
    command = "mlflow run . -e retrain --env-manager local -P new_data=labelled.csv -P force=true"
    output = succeeded(shell(demo, command, {"labelled.csv": str(batch)}))
    assert "retrain: config configs/sample.yaml, recorded on models:/toxic/Production" in output
    assert "missing values" not in output and "retrain: warning" not in output
    assert re.search(r"retrain: ok \(forced\); training on [\d,]+ rows \(500 new\)", output)
    assert re.search(rf"retrain: toxic version {before + 1} (promoted|registered, NOT)", output)
    assert len(demo.client.search_model_versions("name='toxic'")) == before + 1

"""The benchmark suite's page and layout: bench/report.py, the registries, nothing from tests/."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import numpy as np
import pytest

from bench import report
from bench.common import ROOT, figure, portable
from bench.quality import evasion
from toxic_mlops.config import load_config
from toxic_mlops.evaluation.evasion import Scored

BENCH = ROOT / "bench"
KINDS = ("perf", "quality", "studies")
# a path of some machine: /work/..., /tmp/..., /root/..., /home/... starting a word
MACHINE_PATH = re.compile(r"(?<![\w.}])/(work|tmp|root|home)/")
MACHINE = {
    "uname_m": "x86_64",
    "nproc": 2,
    "cpu": "AMD EPYC",
    "python": "3.11.7",
    "torch": "2.13.0+cpu",
    "torch_threads": 2,
}


def write_result(folder: Path, name: str, utc: str, command: str, figures: dict) -> Path:
    stamp = utc.replace("-", "").replace(":", "")[:15] + "Z"
    path = folder / f"{name}-{stamp}.json"
    result = {"benchmark": name, "utc": utc, "machine": MACHINE, "command": command}
    path.write_text(json.dumps({**result, "report": figures}, indent=2) + "\n")
    return path


def generated(page: str) -> str:
    return page[page.index(report.START) : page.index(report.END)]


def test_renders_only_the_latest_result_per_benchmark(tmp_path):
    old = write_result(
        tmp_path,
        "forward",
        "2026-01-01T00:00:00+00:00",
        "python -m bench.perf.forward",
        {"comments_per_s@50_tokens": 1111.0},
    )
    new = write_result(
        tmp_path,
        "forward",
        "2026-02-01T00:00:00+00:00",
        "python -m bench.perf.forward --lengths 50",
        {"comments_per_s@50_tokens": 1587.33333},
    )
    page = report.render(report.load_results(tmp_path))
    assert new.name in page and "1587" in page
    assert old.name not in page and "1111" not in page
    assert "1 earlier run there too" in page
    assert page.count("### forward") == 1


def test_one_section_per_config_for_benchmarks_run_per_config(tmp_path):
    figures = {"comments_per_s@50_tokens": 1.0}
    for config, utc in (("toxic", "2026-01-01"), ("imdb", "2026-01-02"), ("toxic", "2026-01-03")):
        write_result(
            tmp_path,
            "bootstrap_cost",
            f"{utc}T00:00:00+00:00",
            f"python -m bench.perf.bootstrap_cost --config configs/{config}.yaml",
            figures,
        )
    newest = report.latest(report.load_results(tmp_path))
    assert sorted(newest) == ["bootstrap_cost-imdb", "bootstrap_cost-toxic"]
    assert newest["bootstrap_cost-toxic"].data["utc"].startswith("2026-01-03")


def test_floats_are_rounded_to_four_significant_digits(tmp_path):
    write_result(
        tmp_path,
        "forward",
        "2026-01-01T00:00:00+00:00",
        "python -m bench.perf.forward",
        {"comments_per_s@50_tokens": 1587.33333, "comments_per_s@100_tokens": 643.987654},
    )
    page = report.render(report.load_results(tmp_path))
    assert "| 1587 |" in page and "| 644 |" in page
    assert "1587.3" not in page and "643.98" not in page
    assert [figure(v) for v in (0.968184, 0.00012345, 20000.4, float("nan"))] == [
        "0.9682",
        "0.0001234",
        "20,000",
        "n/a",
    ]


def test_no_absolute_path_is_ever_printed(tmp_path):
    elsewhere = "/opt/another-project/runs/toxic.yaml"  # outside the clone and its parent
    beside = ROOT.parent / "shared" / "data" / "davidson_train.csv"
    inside = ROOT / "data" / "jigsaw_wiki_sample.csv.gz"
    write_result(
        tmp_path,
        "forward",
        "2026-01-01T00:00:00+00:00",
        f"python -m bench.perf.forward --config {elsewhere} --source {beside} -P data={inside}",
        {"comments_per_s@50_tokens": 1.0},
    )
    page = report.render(report.load_results(tmp_path))
    assert not MACHINE_PATH.search(page)
    assert str(ROOT) not in page
    assert "--config <local file toxic.yaml>" in page
    assert "--source ../shared/data/davidson_train.csv" in page
    assert "-P data=data/jigsaw_wiki_sample.csv.gz" in page
    assert (
        portable("models:/toxic/1 http://127.0.0.1:5000/x")
        == "models:/toxic/1 http://127.0.0.1:5000/x"
    )


def test_the_real_page_is_current_short_and_rounded():
    results = report.load_results()
    page = report.page(report.DOC.read_text(), results)
    assert page == report.DOC.read_text(), "docs/benchmarks.md is stale: run `make bench-report`"
    assert len(page.encode()) <= report.MAX_BYTES
    assert not MACHINE_PATH.search(page)
    part = generated(page)
    for newest in report.latest(results).values():
        assert newest.path.name in part
    assert len(results) > len(report.latest(results))  # superseded runs are in bench/results only
    for number in re.findall(r"(?<![\w.\-])\d+\.\d+(?![\w.])", part):
        assert len(number.replace(".", "").lstrip("0")) <= 4, number


def anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_links_into_the_page_resolve():
    page = report.DOC.read_text()
    anchors = {anchor(line.lstrip("#")) for line in page.splitlines() if line.startswith("#")}
    links = re.findall(r"\]\(#([^)]+)\)", page)
    for path in [ROOT / "README.md", ROOT / "data" / "README.md", *(ROOT / "docs").glob("*.md")]:
        links += re.findall(r"benchmarks\.md#([^)\s]+)\)", path.read_text())
    assert links and set(links) <= anchors, set(links) - anchors


def test_results_record_no_machine_path():
    for path in sorted((BENCH / "results").glob("*.json")):
        assert not MACHINE_PATH.search(path.read_text()), path.name


def bench_modules() -> list[Path]:
    return sorted(p for p in BENCH.rglob("*.py") if ".cache" not in p.parts)


@pytest.mark.parametrize("path", bench_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_bench_module_imports_tests_or_names_a_machine_path(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        for name in names:
            assert name != "tests" and not name.startswith("tests."), f"{path}: imports {name}"
    assert not MACHINE_PATH.search(path.read_text()), path


def test_docs_name_no_machine_path():
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        assert not MACHINE_PATH.search(path.read_text()), path.name


def test_every_benchmark_module_is_registered_and_summarized():
    for kind in KINDS:
        registry = report.KINDS[kind][1]
        modules = {p.stem for p in (BENCH / kind).glob("*.py") if p.stem != "__init__"}
        assert modules == set(registry), kind
        for name in registry:
            source = (BENCH / kind / f"{name}.py").read_text()
            module = report.module_of(name)
            if "record(" in source:
                assert callable(getattr(module, "summarize", None)), f"{kind}.{name}"


@pytest.mark.parametrize(
    ("result", "columns"),
    [
        (  # one variant and both baselines: no "model before" column
            "evasion-jigsaw_wiki_sample-20261207T084620Z.json",
            ["TF-IDF words + LR", "TF-IDF chars + LR"],
        ),
        (  # two variants, no baselines
            "evasion-jigsaw_wiki_sample-20261207T050328Z.json",
            ["before"],
        ),
    ],
)
def test_the_evasion_table_shows_each_scorer_once(result: str, columns: list[str]) -> None:
    report = json.loads((ROOT / "bench" / "results" / result).read_text())["report"]
    summary = evasion.summarize(report)
    assert list(summary.columns) == ["attack", "shipped: ROC-AUC (kept)", *columns]


def test_the_machine_is_named_once_when_every_result_shares_it(tmp_path):
    for name in ("forward-short", "forward-long"):  # two sections of one benchmark
        write_result(
            tmp_path,
            name,
            "2026-01-01T00:00:00+00:00",
            "python -m bench.perf.forward",
            {"comments_per_s@50_tokens": 1.0},
        )
    page = report.render(report.load_results(tmp_path))
    assert page.count("2 cores (AMD EPYC), Python 3.11.7") == 1
    assert page.count("torch 2.13.0+cpu (2 threads)") == 2
    other = tmp_path / "forward-long-20260101T000000Z.json"
    result = json.loads(other.read_text())
    other.write_text(json.dumps({**result, "machine": {**MACHINE, "nproc": 8}}))
    page = report.render(report.load_results(tmp_path))
    assert "All ran on" not in page
    assert page.count("2 cores (AMD EPYC)") == 1 and page.count("8 cores (AMD EPYC)") == 1


def test_the_false_positive_rise_is_judged_on_the_same_comments() -> None:
    """Ten of 200 clean comments pushed over the threshold by a disguise: a rise the paired
    interval sees; the unpaired intervals of the two shares overlap."""
    negatives = np.linspace(0.0, 0.6, 200)  # 34 of 200 at or above 0.5
    raised = negatives.copy()
    raised[150:160] += 0.2  # ten more over the threshold
    scored = Scored(
        np.full(50, 0.9),
        negatives,
        {"raised": (np.full(50, 0.9), raised), "same": (np.full(50, 0.9), negatives)},
    )
    figures = evasion.with_intervals(
        scored, 0.5, load_config(ROOT / "configs" / "sample.yaml").evaluation
    )
    assert figures["raised_fp_delta_ci"][0] > 0
    assert figures["raised_fp_ci"][0] < figures["same_fp_ci"][1]  # unpaired: overlapping
    assert figures["same_fp_delta_ci"] == [0.0, 0.0]

"""The import graph: pyfunc <- core <- MLflow adapters (mlflow_io) <- steps, never back up.

Serving (toxic_mlops/serving) and the team stack sit beside the adapters: they may use the core
and the adapters, never a step; the parts of serving that need no MLflow import none.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

CORE = (
    "toxic_mlops/data",
    "toxic_mlops/model",
    "toxic_mlops/evaluation",
    "toxic_mlops/monitoring",
    "toxic_mlops/spans",
)
CORE_FILES = ("config.py", "contract.py", "errors.py", "plots.py")
OUTER = ("steps", "toxic_mlops.mlflow_io", "toxic_mlops.serving", "toxic_mlops.stack")
# Serving processes and helpers that run without MLflow (the page server reads the registry).
SERVING_WITHOUT_MLFLOW = ("model_server.py", "proxy.py")


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def core_files() -> list[Path]:
    return files(*CORE) + [ROOT / "toxic_mlops" / name for name in CORE_FILES]


def named(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", core_files(), ids=named)
def test_the_core_imports_neither_mlflow_nor_click_nor_anything_outside_it(path: Path) -> None:
    forbidden = {
        name
        for name in imported_modules(path)
        if name.split(".")[0] in {"mlflow", "click"} or name.startswith(OUTER)
    }
    assert not forbidden, f"{path.name} imports {sorted(forbidden)}"


def test_importing_the_whole_core_loads_no_mlflow() -> None:
    """Indirect imports count too: a fresh interpreter imports every core module."""
    modules = [
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in core_files()
    ]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(sorted(k for k in sys.modules if k.split('.')[0] == 'mlflow'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


# Steps that neither build a network nor load a model: every `mlflow run` of one starts a Python
# process, and torch, scikit-learn and matplotlib would add seconds to each (CI starts ~80).
LIGHT_STEPS = ("main", "download", "preprocess", "validate", "register", "retrain")


def test_light_steps_start_without_torch_sklearn_or_matplotlib() -> None:
    """One interpreter imports them in turn (six would add seconds to every test run) and
    names the step that first brought in a heavy package."""
    code = (
        "import importlib, json, sys\n"
        "heavy = {'torch', 'sklearn', 'matplotlib'}\n"
        "found = {}\n"
        f"for step in {LIGHT_STEPS!r}:\n"
        "    importlib.import_module('steps.' + step)\n"
        "    loaded = sorted(heavy & {k.split('.')[0] for k in sys.modules})\n"
        "    found.update({p: step for p in loaded if p not in found})\n"
        "print(json.dumps(found))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "{}", f"heavy package -> the step that imports it: {done.stdout}"


@pytest.mark.parametrize("path", files("pyfunc"), ids=lambda p: p.name)
def test_pyfunc_imports_nothing_from_training(path: Path) -> None:
    assert not {n for n in imported_modules(path) if n.split(".")[0] in {"toxic_mlops", "steps"}}


@pytest.mark.parametrize("path", files("steps"), ids=lambda p: p.name)
def test_steps_never_import_steps(path: Path) -> None:
    assert not {n for n in imported_modules(path) if n.split(".")[0] == "steps"}


def test_every_entry_point_is_a_step_file() -> None:
    """One file per MLproject entry point, named after it: steps/<entry point>.py."""
    import yaml

    entry_points = set(yaml.safe_load((ROOT / "MLproject").read_text())["entry_points"])
    step_files = {p.stem for p in (ROOT / "steps").glob("*.py")} - {"__init__"}
    assert step_files == entry_points


@pytest.mark.parametrize(
    "path",
    files("toxic_mlops/mlflow_io", "toxic_mlops/serving", "toxic_mlops/stack"),
    ids=named,
)
def test_adapters_and_serving_never_import_steps_and_only_commands_import_click(
    path: Path,
) -> None:
    imported = {n.split(".")[0] for n in imported_modules(path)}
    assert "steps" not in imported
    assert "click" not in imported or path.name == "__main__.py"


@pytest.mark.parametrize(
    "path", [ROOT / "toxic_mlops" / "serving" / name for name in SERVING_WITHOUT_MLFLOW], ids=named
)
def test_serving_processes_import_no_mlflow(path: Path) -> None:
    assert not {n for n in imported_modules(path) if n.split(".")[0] == "mlflow"}


def test_every_package_says_what_it_holds() -> None:
    for init in (ROOT / "toxic_mlops").rglob("__init__.py"):
        docstring = ast.get_docstring(ast.parse(init.read_text()))
        assert docstring and "\n" not in docstring.strip(), init

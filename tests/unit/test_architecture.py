"""The import graph: pyfunc <- core <- MLflow edge (mlflow_io) <- steps, never back up."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

CORE = ("toxic_mlops/data", "toxic_mlops/model", "toxic_mlops/evaluation", "toxic_mlops/monitoring")
CORE_FILES = ("config.py", "contract.py", "errors.py", "plots.py")


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


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_core_imports_neither_mlflow_nor_the_edge_nor_steps(path: Path) -> None:
    forbidden = {
        name
        for name in imported_modules(path)
        if name.split(".")[0] in {"mlflow", "steps", "click"}
        or name.startswith("toxic_mlops.mlflow_io")
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


@pytest.mark.parametrize("path", files("pyfunc"), ids=lambda p: p.name)
def test_pyfunc_imports_nothing_from_training(path: Path) -> None:
    assert not {n for n in imported_modules(path) if n.split(".")[0] in {"toxic_mlops", "steps"}}


@pytest.mark.parametrize("path", files("steps"), ids=lambda p: p.name)
def test_steps_never_import_steps_but_common(path: Path) -> None:
    steps = {n for n in imported_modules(path) if n.split(".")[0] == "steps"}
    assert steps <= {"steps.common"}


@pytest.mark.parametrize("path", files("toxic_mlops/mlflow_io"), ids=lambda p: p.name)
def test_the_edge_never_imports_steps(path: Path) -> None:
    assert not {n for n in imported_modules(path) if n.split(".")[0] in {"steps", "click"}}


def test_every_package_says_what_it_holds() -> None:
    for init in (ROOT / "toxic_mlops").rglob("__init__.py"):
        docstring = ast.get_docstring(ast.parse(init.read_text()))
        assert docstring and "\n" not in docstring.strip(), init

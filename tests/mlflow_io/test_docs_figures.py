"""The generated blocks of the docs: only the text between a block's markers is rewritten, a stale
block is named, a lost marker is an error (the figures themselves: tests/e2e/test_demo_day_two.py
against a real `make demo`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from toxic_mlops.errors import PipelineError
from toxic_mlops.mlflow_io.docs_figures import BLOCKS, quoted_blocks, stale_blocks, write_blocks


def docs_with(root: Path, body: str) -> dict[str, str]:
    """Every file of BLOCKS under root, each block holding `body`; the generated blocks."""
    for file, names in BLOCKS.items():
        path = root / file
        path.parent.mkdir(parents=True, exist_ok=True)
        marked = [f"<!-- figures:{name} -->{body}<!-- /figures:{name} -->" for name in names]
        path.write_text("Hand-written text.\n" + "\n".join(marked) + "\nMore (0.5).\n")
    return {name: f"fresh {name}" for names in BLOCKS.values() for name in names}


def test_only_the_stale_blocks_are_rewritten_and_named(tmp_path: Path) -> None:
    blocks = docs_with(tmp_path, "old figure 0.33")
    stale = stale_blocks(tmp_path, blocks)
    assert stale == [f"{file} {name}" for file, names in BLOCKS.items() for name in names]
    assert write_blocks(tmp_path, blocks) == stale
    assert stale_blocks(tmp_path, blocks) == []
    for file in BLOCKS:
        text = (tmp_path / file).read_text()
        assert text.startswith("Hand-written text.\n") and text.endswith("\nMore (0.5).\n")
        assert "0.33" not in text
        assert set(quoted_blocks(text).values()) <= set(blocks.values())


def test_a_lost_marker_is_an_error_not_a_silent_pass(tmp_path: Path) -> None:
    blocks = docs_with(tmp_path, "x")
    readme = tmp_path / "README.md"
    readme.write_text(readme.read_text().replace("<!-- /figures:curl-answer -->", ""))
    with pytest.raises(PipelineError, match=r"README.md has lost the markers of \['curl-answer'\]"):
        stale_blocks(tmp_path, blocks)

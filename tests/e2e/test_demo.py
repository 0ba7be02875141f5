"""`make demo` as a newcomer runs it: the bundled sample through the whole chain, offline.

Asserts that the chain ran and registered `toxic` and that the next steps are printed, never the
sample's quality figures (the docs quote those from its runs: tests/e2e/test_demo_day_two.py).
The demo itself runs once per session (tests/conftest.py `demo`).
"""

from __future__ import annotations

import pytest

from tests.conftest import Demo

pytestmark = pytest.mark.e2e

SAMPLE_ROWS = 6293  # data/README.md


def test_make_demo_runs_the_chain_on_the_bundled_sample(demo: Demo) -> None:
    assert "Next: make serve" in demo.done.stdout and "make page" in demo.done.stdout

    client = demo.client
    main = client.get_run(demo.main_run)
    download = client.get_run(main.data.tags["pipeline.download_run"])
    assert download.data.metrics["rows_source"] == SAMPLE_ROWS
    assert download.data.params["config"] == "configs/sample.yaml"
    version = demo.version
    assert version.run_id == main.data.tags["pipeline.train_run"]
    # The README's next step serves models:/toxic/Production: the demo must leave one.
    assert version.tags["promotion.decision"] == "promoted", version.tags["promotion.reason"]
    assert version.current_stage == "Production"
    assert demo.production_alias == version.version

"""`make demo` as a newcomer runs it: the bundled sample through the whole chain, offline.

Asserts that the chain ran and registered `toxic` and that the next steps are printed, never the
sample's quality figures (those are in docs/benchmarks.md).
"""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from tests.e2e.conftest import Demo

pytestmark = pytest.mark.e2e

SAMPLE_ROWS = 6293  # data/README.md


def test_make_demo_runs_the_chain_on_the_bundled_sample(demo: Demo) -> None:
    env, done = demo.env, demo.done
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    assert "Next: make serve" in done.stdout and "make page" in done.stdout

    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    (main,) = client.search_runs(
        [client.get_experiment_by_name("demo").experiment_id],
        "tags.`mlflow.project.entryPoint` = 'main'",
    )
    download = client.get_run(main.data.tags["pipeline.download_run"])
    assert download.data.metrics["rows_source"] == SAMPLE_ROWS
    assert download.data.params["config"] == "configs/sample.yaml"
    (version,) = client.search_model_versions("name='toxic'")
    assert version.run_id == main.data.tags["pipeline.train_run"]
    # The README's next step serves models:/toxic/Production: the demo must leave one.
    assert version.tags["promotion.decision"] == "promoted", version.tags["promotion.reason"]
    assert version.current_stage == "Production"
    assert client.get_model_version_by_alias("toxic", "production").version == version.version

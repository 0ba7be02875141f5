"""bench/perf/scale.py's bookkeeping: where a shortened chain stops, and the medians of repeats."""

import pytest

from bench.perf.scale import Stages, _ThroughDone, exponent, medians


def test_the_chain_stops_when_the_through_stage_ends() -> None:
    stages = Stages(through="preprocess")
    stages.start("read")
    stages.start("preprocess")
    with pytest.raises(_ThroughDone):
        stages.start("tokenizer")
    stages.start(None)  # closing again adds nothing: the stopped stage is not measured twice
    assert list(stages.found) == ["read", "preprocess"]


def test_the_last_stage_ends_without_stopping() -> None:
    stages = Stages()
    stages.start("evaluate")
    stages.start(None)
    assert list(stages.found) == ["evaluate"]


def run(rows: int, seconds: float, peak: float) -> dict:
    return {"rows": rows, "stages": {"read": {"seconds": seconds, "peak_rss_gb": peak}}}


def test_repeats_give_the_median_time_and_the_largest_peak_per_size() -> None:
    runs = [run(400, 9.0, 2.0), run(100, 1.0, 1.0), run(100, 5.0, 1.2), run(100, 2.0, 0.9)]
    merged = medians(runs)
    assert [m["rows"] for m in merged] == [100, 400]
    assert merged[0]["stages"]["read"] == {"seconds": 2.0, "peak_rss_gb": 1.2}
    read = [m["stages"]["read"]["seconds"] for m in merged]
    assert exponent(100, read[0], 400, read[1]) == pytest.approx(1.085, abs=1e-3)

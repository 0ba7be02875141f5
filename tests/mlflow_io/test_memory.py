"""The peak memory of a logged model, measured for real in a child process (mlflow_io.memory)."""

import resource
import tempfile

import mlflow
import pytest

from tests.mlflow_io.test_registry import log_tiny_model
from toxic_mlops.errors import PipelineError
from toxic_mlops.mlflow_io.memory import peak_memory


def test_a_child_process_loads_the_logged_model_and_reports_its_peak_rss(
    tracking, tmp_path, monkeypatch
) -> None:
    _, model_uri = log_tiny_model(tmp_path, 0.5)
    # The child gets the tracking URI the step uses, not only the one in its environment.
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    # Texts go through a file: quotes, newlines and long comments are no command line.
    texts = ["you idiot", 'it\'s "fine"\n-- really', "x" * 5000, "nice day"] * 250
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    # The step's own process holds far more than the model: its peak must not leak into the
    # figure (the child's ru_maxrss would be at least this process's peak, on Linux).
    ballast = b"\x01" * 800_000_000
    del ballast
    parent_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6
    figures = peak_memory(model_uri, texts)
    assert not list(temporary.iterdir())  # the texts, and anything the child wrote there, are gone
    assert set(figures) == {"load_rss_mb", "peak_rss_mb"}
    # Python + pandas + MLflow + torch alone are a few hundred MB; a tiny model adds little.
    assert 100 < figures["load_rss_mb"] <= figures["peak_rss_mb"] < 4000, figures
    assert figures["peak_rss_mb"] < parent_peak_mb - 300, (figures, parent_peak_mb)


def test_a_store_named_relative_to_the_step_s_folder_is_found_by_the_child(
    tracking, tmp_path, monkeypatch
) -> None:
    """The Makefile's default store, sqlite:///mlflow.db, is relative; the child runs elsewhere."""
    _, model_uri = log_tiny_model(tmp_path, 0.5)
    relative = "sqlite:///mlflow.db"  # the tracking fixture's store: tmp_path is the cwd
    monkeypatch.setenv("MLFLOW_TRACKING_URI", relative)
    mlflow.set_tracking_uri(relative)
    figures = peak_memory(model_uri, ["you idiot", "nice day"])
    assert 100 < figures["load_rss_mb"] <= figures["peak_rss_mb"], figures


def test_a_model_that_cannot_be_loaded_is_one_clear_error(tracking) -> None:
    with pytest.raises(PipelineError) as error:
        peak_memory("models:/no-such-model/1", ["hello"])
    message = str(error.value)
    assert message.startswith("could not measure the memory of models:/no-such-model/1: the child")
    assert "\n" not in message and "no-such-model" in message.split(": ", 2)[2]

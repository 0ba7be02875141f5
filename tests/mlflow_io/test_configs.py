"""Which config a step uses when given none (toxic_mlops/mlflow_io/configs.py), on a real store:
the one recorded on the run or model it reads, else the default, and the errors say what to do."""

from __future__ import annotations

import shutil
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import ROOT
from toxic_mlops.config import DEFAULT_CONFIG_PATH, ConfigError
from toxic_mlops.contract import CONFIG_TAG, ENTRY_POINT_TAG, PREPROCESS_RUN_TAG
from toxic_mlops.errors import PipelineError
from toxic_mlops.mlflow_io.configs import (
    model_config,
    recorded_config,
    training_input,
    upstream_run,
)


def finished(entry_point: str, params: dict | None = None, tags: dict | None = None) -> str:
    with mlflow.start_run() as run:
        mlflow.set_tags({ENTRY_POINT_TAG: entry_point, **(tags or {})})
        mlflow.log_params(params or {})
    return run.info.run_id


@pytest.fixture
def configs(tracking: str, tmp_path: Path) -> Path:
    """The shipped configs in the working folder, as `mlflow run .` sees them."""
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    return tmp_path


def this_run() -> mlflow.entities.Run:
    return mlflow.active_run()


def test_recorded_config_is_the_tag_else_the_unquoted_mlflow_run_param(tracking: str) -> None:
    tagged = finished("train", {"config": "''"}, {CONFIG_TAG: "configs/sample.yaml"})
    quoted = finished("train", {"config": "'my configs/x.yaml'"})
    client = MlflowClient()
    assert recorded_config(client.get_run(tagged)) == "configs/sample.yaml"
    assert recorded_config(client.get_run(quoted)) == "my configs/x.yaml"
    assert recorded_config(client.get_run(finished("train", {"config": "''"}))) == ""


def test_a_step_given_no_config_takes_the_newest_upstream_runs(configs: Path, capsys) -> None:
    finished("preprocess", {"config": "configs/toxic.yaml"})
    newest = finished("preprocess", {"config": "configs/sample.yaml"})
    with mlflow.start_run() as run:
        assert upstream_run(this_run(), "train", "preprocess", "", "") == (
            newest,
            "configs/sample.yaml",
        )
    assert MlflowClient().get_run(run.info.run_id).data.tags[CONFIG_TAG] == "configs/sample.yaml"
    said = capsys.readouterr().out
    assert f"train: using the latest preprocess run {newest}" in said
    assert f"train: config configs/sample.yaml, recorded on preprocess run {newest}" in said


def test_a_given_config_picks_the_newest_upstream_run_made_with_it(configs: Path) -> None:
    older = finished("preprocess", {"config": "configs/toxic.yaml"})
    finished("preprocess", {"config": "configs/sample.yaml"})
    with mlflow.start_run():
        assert upstream_run(this_run(), "train", "preprocess", "", "configs/toxic.yaml") == (
            older,
            "configs/toxic.yaml",
        )


def test_no_upstream_run_is_one_line_with_a_command_that_runs(configs: Path) -> None:
    with mlflow.start_run(), pytest.raises(PipelineError) as raised:
        upstream_run(this_run(), "train", "preprocess", "", "configs/toxic.yaml")
    message = str(raised.value)
    assert message.startswith("no finished preprocess run made with config configs/toxic.yaml")
    assert "`mlflow run . -e main --env-manager local -P config=configs/toxic.yaml`" in message
    assert "`make demo`" in message and "-P preprocess_run=<run id>" in message


def test_a_recorded_config_that_is_gone_asks_for_one(configs: Path) -> None:
    gone = finished("preprocess", {"config": "configs/deleted.yaml"})
    with mlflow.start_run(), pytest.raises(ConfigError, match="pass -P config=<path>") as raised:
        upstream_run(this_run(), "train", "preprocess", gone, "")
    assert f"preprocess run {gone} was made with config configs/deleted.yaml" in str(raised.value)


def test_operations_take_the_config_of_the_models_train_run(configs: Path, capsys) -> None:
    train = finished("train", {"config": "configs/sample.yaml"})
    client = MlflowClient()
    client.create_registered_model("toxic")
    version = client.create_model_version("toxic", f"runs:/{train}/model", train)
    client.transition_model_version_stage("toxic", version.version, "Production")
    with mlflow.start_run():
        assert model_config("monitor", "models:/toxic/Production", "") == "configs/sample.yaml"
        assert model_config("monitor", "models:/toxic/Production", "x.yaml") == "x.yaml"
    assert (
        "monitor: config configs/sample.yaml, recorded on models:/toxic/Production (version 1, "
        f"train run {train})"
    ) in capsys.readouterr().out


def test_without_a_model_operations_fall_back_to_the_default(configs: Path, capsys) -> None:
    with mlflow.start_run():
        assert model_config("validate", "models:/toxic/Production", "") == DEFAULT_CONFIG_PATH
    assert (
        f"validate: config {DEFAULT_CONFIG_PATH}, the default: no models:/toxic/Production"
        in capsys.readouterr().out
    )


def test_train_from_a_tune_run_reads_its_data_and_config(configs: Path) -> None:
    searched_on = finished("preprocess", {"config": "configs/sample.yaml"})
    finished("preprocess", {"config": "configs/toxic.yaml"})  # newer, not the one tuned on
    tags = {CONFIG_TAG: "configs/sample.yaml", PREPROCESS_RUN_TAG: searched_on}
    tune = finished("tune", {"config": "''"}, tags)
    with mlflow.start_run():
        assert training_input(this_run(), "train", "", "", "", tune) == (
            searched_on,
            "configs/sample.yaml",
        )
        # A folder carries no config: the one given, else the default.
        assert training_input(this_run(), "train", "", "", "splits/") == ("", DEFAULT_CONFIG_PATH)

"""The search space read from the config, checked when the config is built."""

import optuna
import pytest

from tests.conftest import tiny_config
from toxic_mlops.config import ConfigError, build_config
from toxic_mlops.model.tuning import search_space, suggest


def space_of(search: dict) -> list:
    config = tiny_config()
    config["tune"]["search_space"] = search
    return search_space(build_config(config))


def test_shipped_search_space_suggests_values_inside_its_bounds() -> None:
    dimensions = search_space(build_config(tiny_config()))
    assert {d.name for d in dimensions} == {
        "embedding_dim",
        "hidden_size",
        "spatial_dropout",
        "learning_rate",
        "batch_size",
        "max_len",
    }
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        trial = study.ask()
        values = {d.name: suggest(d, trial) for d in dimensions}
        assert values["embedding_dim"] in (64, 128, 200)
        assert 3e-4 <= values["learning_rate"] <= 3e-3
        assert 0.1 <= values["spatial_dropout"] <= 0.5
        study.tell(trial, 0.5)


@pytest.mark.parametrize(
    ("search", "message"),
    [
        (
            {"hidden_units": {"type": "int", "low": 8, "high": 64}},
            "unknown parameter 'hidden_units'",
        ),
        ({"hidden_size": {"type": "int", "low": 8}}, "needs low and high"),
        ({"hidden_size": {"type": "choice", "choices": [8]}}, "type must be one of"),
        ({"batch_size": {"type": "categorical"}}, "categorical needs choices"),
        ({}, "no tune.search_space"),
    ],
)
def test_a_bad_search_space_is_refused_before_any_trial(search: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        space_of(search)

"""The typed config: YAML + -P overrides, parsed once, every problem named in one error."""

from pathlib import Path

import pytest

from pyfunc.network_config import NetworkConfig
from tests.conftest import ROOT, tiny_config
from toxic_mlops.config import (
    TRAIN_SECTIONS,
    Config,
    ConfigError,
    TrainingConfig,
    build_config,
    load_config,
    override,
    parse_bool,
)

SHIPPED = sorted(ROOT.glob("configs/*.yaml")) + sorted(ROOT.glob("bench/configs/*.yaml"))


def test_overrides_are_typed_like_the_field_they_replace() -> None:
    raw = tiny_config()
    config = build_config(
        raw, {"epochs": "2", "learning_rate": "0.01", "model.hidden_size": "64", "ngram_c": "0"}
    )
    assert config.training.epochs == 2 and isinstance(config.training.epochs, int)
    assert config.training.learning_rate == 0.01
    assert config.model.hidden_size == 64
    assert raw["training"]["epochs"] == 4  # the parsed YAML is untouched
    again = override(config, {"training.epochs": "3"})
    assert (again.training.epochs, config.training.epochs) == (3, 2)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"epochz": "2"}, "unknown parameter 'epochz'"),
        ({"epochs": "two"}, "expected int"),
        ({"vocab_size": "10"}, "unknown parameter"),  # tokenizer is not a train-time section
        ({"tokenizer.vocab_size": "10"}, "unknown parameter"),
    ],
)
def test_bad_overrides_say_what_is_wrong(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_config(tiny_config(), overrides)


def test_ambiguous_override_needs_a_section() -> None:
    with pytest.raises(ConfigError, match="ambiguous; use one of model.seed|training.seed"):
        build_config(tiny_config(), {"seed": "3"}, sections=("sample", "training"))
    config = build_config(tiny_config(), {"sample.seed": "3"}, sections=("sample", "training"))
    assert (config.sample.seed, config.training.seed) == (3, 42)


def test_params_prefix_sections() -> None:
    params = build_config(tiny_config(), {"epochs": "7"}).params()
    assert params["training.epochs"] == 7 and params["model.hidden_size"] == 16
    assert not any(key.startswith("dataset.") for key in params)


def test_every_problem_is_named_in_one_error(tmp_path: Path) -> None:
    raw = tiny_config()
    raw["training"]["epochs"] = 0
    raw["split"].update(val_fraction=0.6, test_fraction=0.5)
    raw["dataset"]["txt_column"] = "x"
    raw["serving"]["quantize"] = "maybe"
    with pytest.raises(ConfigError) as error:
        build_config(raw)
    message = str(error.value)
    assert "txt_column" in message and "serving.quantize: expected bool" in message
    raw["dataset"].pop("txt_column")
    raw["serving"]["quantize"] = False
    with pytest.raises(ConfigError, match="2 problems: .*< 1.*epochs >= 1"):
        build_config(raw)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_a_fitted_wide_path_needs_tfidf_ngrams() -> None:
    raw = tiny_config()
    raw["model"]["ngram_weighting"] = "mean"
    raw["training"]["ngram_c"] = 4.0
    with pytest.raises(ConfigError, match="ngram_c > 0 needs"):
        build_config(raw)
    config = build_config(raw, {"ngram_weighting": "tfidf"})
    assert config.training.ngram_c == 4.0 and config.model.ngram_weighting == "tfidf"


def test_nb_settings_are_typed_and_checked() -> None:
    raw = tiny_config()
    assert build_config(raw, {"ngram_nb": "false"}).training.ngram_nb is False
    assert build_config(raw, {"ngram_nb_min_rows": "20"}).training.ngram_nb_min_rows == 20
    with pytest.raises(ConfigError, match="ngram_nb_min_rows >= 1"):
        build_config(raw, {"ngram_nb_min_rows": "0"})


@pytest.mark.parametrize(
    ("raw", "value"), [("true", True), ("YES", True), ("1", True), ("no", False), (" False ", 0)]
)
def test_one_reading_of_true_and_false(raw: str, value: bool) -> None:
    assert parse_bool(raw, "force") is bool(value)


def test_anything_else_is_not_a_flag() -> None:
    with pytest.raises(ConfigError, match="force: expected true or false"):
        parse_bool("ok", "force")


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_config_loads_and_builds_a_network(path: Path) -> None:
    config = load_config(path)
    assert isinstance(config, Config) and config.dataset.label_columns
    network = NetworkConfig(vocab_size=10, num_labels=2, **config.model.network_settings())
    assert network.ngram_weighting == config.model.ngram_weighting


def test_missing_sections_take_the_dataclass_defaults() -> None:
    raw = {"dataset": {"name": "d", "text_column": "t", "label_columns": ["y"]}}
    config = build_config(raw)
    assert config.training == TrainingConfig() and config.tune.search_space == {}
    with pytest.raises(ConfigError, match="missing keys \\['label_columns'\\]"):
        build_config({"dataset": {"name": "d", "text_column": "t"}})


def test_the_memory_growth_limit_reaches_the_gate_and_must_be_positive() -> None:
    raw = tiny_config()
    assert build_config(raw).registry.gate.max_memory_growth == 1.5  # as every shipped config
    raw["registry"]["max_memory_growth"] = 1.2
    policy = build_config(raw).registry.gate
    assert (policy.max_memory_growth, policy.max_slowdown) == (1.2, 1.5)
    overridden = build_config(raw, {"max_memory_growth": "0.9"}, sections=("registry",))
    assert overridden.registry.gate.max_memory_growth == 0.9
    for bad in (0, -1.0, float("nan")):
        raw["registry"]["max_memory_growth"] = bad
        with pytest.raises(ConfigError, match="registry.max_memory_growth must be > 0"):
            build_config(raw)


def test_a_train_run_may_say_where_it_trains() -> None:
    config = build_config(
        tiny_config(), {"processes": "2", "master": "spark://127.0.0.1:7077"}, TRAIN_SECTIONS
    )
    assert (config.distributed.processes, config.distributed.master) == (
        2,
        "spark://127.0.0.1:7077",
    )
    assert config.params(TRAIN_SECTIONS)["distributed.processes"] == 2
    assert build_config(tiny_config()).distributed.processes == 0  # one process unless asked
    with pytest.raises(ConfigError, match="unknown parameter 'processes'"):
        build_config(tiny_config(), {"processes": "2"})  # a tune trial trains where tune runs


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"precision": "fp8"}, "training.precision must be one of"),
        ({"device": "gpu"}, "training.device must be auto, cpu, cuda or cuda:<index>"),
        ({"device": "cpu", "precision": "fp16"}, "fp16 needs CUDA"),
        ({"processes": "-1"}, "distributed.processes must be >= 0"),
        ({"backend": "mpi"}, "distributed.backend must be one of"),
        ({"device": "cpu", "backend": "nccl"}, "backend nccl needs CUDA"),
        ({"ngram_solver": "saga"}, "training.ngram_solver must be one of"),
        ({"ngram_liblinear_max_rows": "-1"}, "ngram_liblinear_max_rows >= 0"),
    ],
)
def test_device_precision_and_backend_are_checked(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_config(tiny_config(), overrides, TRAIN_SECTIONS)


@pytest.mark.parametrize(
    "overrides",
    [{"device": "cuda:1", "precision": "fp16"}, {"device": "cpu", "precision": "bf16"}, {}],
)
def test_devices_and_precisions_a_config_may_name(overrides: dict) -> None:
    config = build_config(tiny_config(), overrides, TRAIN_SECTIONS)
    assert (config.training.device, config.training.precision) == (
        overrides.get("device", "auto"),
        overrides.get("precision", "auto"),
    )


def test_the_wide_solver_is_liblinear_up_to_the_row_limit_then_lbfgs() -> None:
    auto = build_config(tiny_config(), {"ngram_liblinear_max_rows": "1000"}).training
    assert [auto.wide_solver(n) for n in (10, 1000, 1001)] == ["liblinear", "liblinear", "lbfgs"]
    for named in ("liblinear", "lbfgs"):
        chosen = build_config(tiny_config(), {"ngram_solver": named}).training
        assert {chosen.wide_solver(n) for n in (10, 10**7)} == {named}

"""Data behaviour of preprocess: schema checks, cleaning, splits, profile."""

import numpy as np
import pandas as pd
import pytest

from pyfunc.text import Normalizer
from tests.conftest import ROOT
from tests.synthetic import LABELS
from toxic_mlops.config import DatasetConfig, SplitConfig
from toxic_mlops.data.dataset import SchemaError, clean, profile, split_frame, validate_schema

DATASET = DatasetConfig(name="t", text_column="comment", label_columns=["toxicity", "insult"])


def frame(**overrides) -> pd.DataFrame:
    data = {"comment": ["a", "b", "c"], "toxicity": [0.0, 0.5, 1.0], "insult": [0.1, 0.2, 0.3]}
    data.update(overrides)
    return pd.DataFrame(data)


def test_valid_data_passes() -> None:
    validate_schema(frame(), DATASET)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (frame().drop(columns="comment"), "text column 'comment' is missing"),
        (frame().drop(columns="insult"), "label column 'insult' is missing"),
        (frame(comment=["a", None, "c"]), "1 null values"),
        (frame(comment=["a", 3, "c"]), "1 non-string values"),
        (frame(toxicity=[0.0, 1.5, -0.1]), "2 values outside \\[0, 1\\]"),
        (frame(insult=["x", 0.1, 0.2]), "1 non-numeric values"),
        (frame(insult=[np.nan, 0.1, 0.2]), "allow_missing_labels"),
        (frame().iloc[:0], "no rows"),
    ],
)
def test_schema_errors_name_the_problem(data: pd.DataFrame, message: str) -> None:
    with pytest.raises(SchemaError, match=message) as caught:
        validate_schema(data, DATASET)
    assert "Columns present" in str(caught.value)


def test_missing_labels_allowed_when_configured() -> None:
    dataset = DatasetConfig(**{**DATASET.__dict__, "allow_missing_labels": True})
    validate_schema(frame(insult=[np.nan, 0.1, 0.2]), dataset)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(SchemaError) as caught:
        validate_schema(frame(comment=["a", None, "c"], toxicity=[2.0, 0, 0]), DATASET)
    assert "null" in str(caught.value) and "outside" in str(caught.value)


def test_clean_drops_empty_and_duplicate_comments_but_keeps_raw_text() -> None:
    raw = frame(comment=["Hello  World", "hello world", "   "])
    kept, stats = clean(raw, DATASET, Normalizer())
    assert kept["text"].tolist() == ["Hello  World"]
    assert stats == {"rows_in": 3, "rows_empty": 1, "rows_duplicate": 1, "rows_out": 1}
    assert kept["toxicity"].dtype == np.float32


def test_split_is_stratified_disjoint_and_complete(comments: pd.DataFrame) -> None:
    data, _ = clean(comments, DatasetConfig("t", "text", LABELS), Normalizer())
    splits = split_frame(data, "toxicity", 0.5, SplitConfig(0.15, 0.15, seed=1))
    sizes = {name: len(part) for name, part in splits.items()}
    assert sum(sizes.values()) == len(data)
    assert abs(sizes["val"] - 0.15 * len(data)) <= 2
    overall = (data["toxicity"] >= 0.5).mean()
    for part in splits.values():
        assert abs((part["toxicity"] >= 0.5).mean() - overall) < 0.02
    texts = [set(part["text"]) for part in splits.values()]
    assert not (texts[0] & texts[1]) and not (texts[0] & texts[2])


def test_rows_that_name_their_split_keep_it(comments: pd.DataFrame) -> None:
    dataset = DatasetConfig("t", "text", LABELS)
    old = comments.iloc[:600].assign(split=["train", "val", "test"] * 200)
    new = comments.iloc[600:]
    data, _ = clean(pd.concat([old, new], ignore_index=True), dataset, Normalizer())
    splits = split_frame(data, "toxicity", 0.5, SplitConfig(0.1, 0.1, seed=2))
    assert all("split" not in part.columns for part in splits.values())
    for name in ("train", "val", "test"):
        marked = set(old.loc[old["split"] == name, "text"])
        assert marked <= set(splits[name]["text"])
    # The unmarked rows are split by the fractions, as usual.
    unmarked_test = set(splits["test"]["text"]) & set(new["text"])
    assert abs(len(unmarked_test) - 0.1 * len(new)) <= 3


def test_split_is_reproducible(comments: pd.DataFrame) -> None:
    first = split_frame(comments, "toxicity", 0.5, SplitConfig(seed=3))
    second = split_frame(comments, "toxicity", 0.5, SplitConfig(seed=3))
    pd.testing.assert_frame_equal(first["test"], second["test"])


def test_too_few_rows_for_a_split_is_an_error() -> None:
    with pytest.raises(SchemaError, match="empty"):
        split_frame(frame().rename(columns={"comment": "text"}), "toxicity", 0.5, SplitConfig())


def test_profile_reports_sizes_rates_and_lengths(comments: pd.DataFrame) -> None:
    splits = split_frame(comments, "toxicity", 0.5, SplitConfig())
    result = profile(splits, LABELS, 0.5)
    assert result["train"]["rows"] == len(splits["train"])
    assert 0 < result["test"]["label_positive_rate"]["toxicity"] < 1
    assert result["val"]["words_percentiles"]["p50"] > 0


def test_imdb_config_maps_names_and_labels_and_drops_unlabelled() -> None:
    from toxic_mlops.config import load_config
    from toxic_mlops.data.dataset import standardize

    imdb = load_config(ROOT / "configs" / "imdb.yaml").dataset
    archive_rows = pd.DataFrame({"text": ["a", "b", "c"], "label": ["pos", "neg", "unsup"]})
    frame, dropped = standardize(archive_rows, imdb)
    assert frame.to_dict("list") == {"text": ["a", "b"], "sentiment": [1.0, 0.0]}
    assert dropped == 1
    csv_rows = pd.DataFrame({"review": ["x", "y"], "sentiment": ["positive", "Negative"]})
    frame, dropped = standardize(csv_rows, imdb)
    assert frame.to_dict("list") == {"text": ["x", "y"], "sentiment": [1.0, 0.0]} and dropped == 0
    validate_schema(frame, imdb)


def test_prepare_reads_a_file_as_the_preprocess_step_does() -> None:
    """The bundled sample through prepare(): aliases applied, cleaned, split, tokenizer trained."""
    from tests.conftest import ROOT
    from toxic_mlops.config import load_config
    from toxic_mlops.data.preprocessing import prepare

    config = load_config(ROOT / "configs" / "sample.yaml")
    prepared = prepare(config, ROOT / config.dataset.sources[0])
    rows = sum(len(part) for part in prepared.splits.values())
    assert rows == prepared.cleaning["rows_out"] > 6000
    assert set(config.dataset.label_columns) <= set(prepared.splits["test"].columns)
    assert prepared.tokenizer.get_vocab_size() > 1000

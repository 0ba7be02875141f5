"""Where the benchmarks' data comes from: the shared data folder, the bundled sample, test splits.

../shared/data (beside the project folder) holds the real datasets the benchmarks measure on;
when a file is missing there, the benchmarks that only need real comments to send fall back to
the bundled sample (data/jigsaw_wiki_sample.csv.gz), never to generated text.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bench.common import ROOT
from toxic_mlops.config import Config

SHARED = ROOT.parent / "shared" / "data"
POSTS = SHARED / "civil_toxic_spans_posts.csv"  # real Civil Comments posts, column comment_text
SPANS = SHARED / "toxic_spans_train.csv"  # SemEval-2021 Task 5 train split
SAMPLE = ROOT / "data" / "jigsaw_wiki_sample.csv.gz"  # bundled, column comment_text
COMMENTS = "comment_text"


def comments(path: Path = POSTS, rows: int | None = None) -> tuple[list[str], str]:
    """The comment_text column of path, or of the bundled sample when path is missing."""
    source = path if path.is_file() else SAMPLE
    texts = pd.read_csv(source, nrows=rows)[COMMENTS].dropna().astype(str).tolist()
    return texts, source.name


def load_texts(count: int, seed: int = 0) -> tuple[list[str], str]:
    """count real comments drawn with replacement (Civil Comments posts, else the sample)."""
    texts, source = comments()
    rng = np.random.default_rng(seed)
    return [texts[i] for i in rng.integers(0, len(texts), size=count)], source


def long_comments(rows: int, chars: int) -> list[str]:
    """rows comments of chars characters each: windows over real comments joined end to end
    (drawn as load_texts draws them), the huge requests the memory benchmarks send."""
    texts, _ = load_texts(4 * rows)
    joined = " ".join(texts)
    step = max(1, (len(joined) - chars) // rows)
    return [joined[i * step : i * step + chars] for i in range(rows)]


def sampled_comments(count: int, path: Path = POSTS) -> tuple[list[str], str]:
    """count distinct real comments (seed 0), the request the span benchmarks time."""
    texts, source = comments(path)
    return pd.Series(texts).sample(count, random_state=0).tolist(), source


def config_source(config: Config, source: str | Path = "") -> Path:
    """source, or else the config's one local source (relative to the project folder)."""
    if source:
        return Path(source)
    if len(config.dataset.sources) != 1:
        raise SystemExit(f"give --source: the config has {len(config.dataset.sources)} sources")
    return ROOT / config.dataset.sources[0]


@dataclass(frozen=True)
class Target:
    """Another labelled source, scored with one label column against the training source."""

    name: str
    file: str
    text_column: str
    label_column: str
    inverted: bool = False  # the label is 1 - the column


TARGETS = (
    Target("davidson", "davidson_train.csv", "text", "toxicity"),
    Target("jigsaw_wiki", "jigsaw_wiki_train.csv", "comment_text", "toxic"),
    Target("civil_posts", "civil_toxic_spans_posts.csv", "comment_text", "frac_not_toxic", True),
)


def other_sources(source: str | Path) -> dict[str, pd.DataFrame]:
    """Every target in ../shared/data but the training source: columns text and label."""
    found = {}
    for target in TARGETS:
        if target.file == Path(source).name or not (SHARED / target.file).exists():
            continue
        frame = pd.read_csv(SHARED / target.file, usecols=[target.text_column, target.label_column])
        frame = frame.dropna()
        label = frame[target.label_column].astype(float)
        found[target.name] = pd.DataFrame(
            {
                "text": frame[target.text_column].astype(str),
                "label": 1 - label if target.inverted else label,
            }
        )
    return found


def test_split(train_run: str) -> pd.DataFrame:
    """The test split a train run was trained against, for benchmarks that rescore it."""
    import mlflow
    from mlflow.tracking import MlflowClient

    from toxic_mlops.contract import PREPROCESS_RUN_TAG, SPLITS_ARTIFACT

    preprocess_run = MlflowClient().get_run(train_run).data.tags.get(PREPROCESS_RUN_TAG)
    if not preprocess_run:
        raise SystemExit(
            f"train run {train_run} has no {PREPROCESS_RUN_TAG} tag (trained from a folder?)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        return pd.read_parquet(
            mlflow.artifacts.download_artifacts(
                run_id=preprocess_run, artifact_path=f"{SPLITS_ARTIFACT}/test.parquet", dst_path=tmp
            )
        )

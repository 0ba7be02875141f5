"""The preprocess step's computation: schema, cleaning, stratified splits, the tokenizer.

`prepare(config, source)` is the whole of it from a file: what the preprocess step runs (with its
validation report between reading and preprocessing) and what every benchmark starts from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from tokenizers import Tokenizer

from toxic_mlops.config import Config
from toxic_mlops.data.dataset import TEXT, clean, profile, split_frame, standardize, validate_schema
from toxic_mlops.data.download import default_cache_dir, read_table
from toxic_mlops.data.embeddings import PretrainedEmbeddings, check_shape, load_pretrained
from toxic_mlops.data.tokenizer import train_tokenizer


@dataclass(frozen=True)
class Preprocessed:
    splits: dict[str, pd.DataFrame]
    cleaning: dict[str, int]  # rows in, empty, duplicate, out
    tokenizer: Tokenizer
    # The embedding matrix for the tokenizer's vocabulary (model.pretrained_embeddings), if any.
    embeddings: PretrainedEmbeddings | None = None

    def profile(self, config: Config) -> dict[str, Any]:
        dataset = config.dataset
        splits = profile(self.splits, dataset.label_columns, dataset.positive_threshold)
        return {"cleaning": self.cleaning, "splits": splits}

    def metrics(self) -> dict[str, int]:
        return {
            **self.cleaning,
            **{f"rows_{name}": len(part) for name, part in self.splits.items()},
            "vocab_size": self.tokenizer.get_vocab_size(),
            **({"embeddings_coverage": self.embeddings.coverage} if self.embeddings else {}),
        }

    def summary(self) -> str:
        return (
            ", ".join(f"{name} {len(part):,}" for name, part in self.splits.items())
            + f" rows; dropped {self.cleaning['rows_empty']} empty, "
            + f"{self.cleaning['rows_duplicate']} duplicate;"
            + f" vocabulary {self.tokenizer.get_vocab_size():,}"
        )


def preprocess(raw: pd.DataFrame, config: Config) -> Preprocessed:
    """Stops with every schema problem named; else clean, split and train the tokenizer."""
    dataset, normalizer = config.dataset, config.normalization
    validate_schema(raw, dataset)
    cleaned, stats = clean(raw, dataset, normalizer)
    splits = split_frame(cleaned, dataset.stratify_column, dataset.positive_threshold, config.split)
    tokenizer = train_tokenizer(
        splits["train"][TEXT].tolist(),
        normalizer,
        config.tokenizer.vocab_size,
        config.tokenizer.min_frequency,
    )
    embeddings = None
    if source := config.model.pretrained_embeddings:
        embeddings = load_pretrained(source, tokenizer.get_vocab(), default_cache_dir())
        check_shape(
            embeddings.matrix, tokenizer.get_vocab_size(), config.model.embedding_dim, source
        )
    return Preprocessed(splits, stats, tokenizer, embeddings)


def read_raw(path: str | Path, config: Config) -> pd.DataFrame:
    """A local CSV / CSV.gz / parquet file with the config's column names (aliases applied)."""
    raw, _ = standardize(read_table(Path(path), str(path)), config.dataset)
    return raw


def prepare(config: Config, source: str | Path) -> Preprocessed:
    """Read a local file and preprocess it as the preprocess step does."""
    return preprocess(read_raw(source, config), config)

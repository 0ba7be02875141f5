"""Rebuild data/jigsaw_wiki_sample.csv.gz, the bundled sample behind `make demo` (data/README.md).

    .venv/bin/python data/make_sample.py --source ../shared/data/jigsaw_wiki_train.csv

Every row whose five sub-labels are known, plus a random `--partial-rows` of the rows that only
have `toxic`, drawn stratified on `toxic`; seeded, so the same source gives the same file.
"""

from __future__ import annotations

import argparse
import gzip
import os
from pathlib import Path

import pandas as pd

SUB_LABELS = ["severe_toxic", "obscene", "threat", "insult", "identity_hate"]
COLUMNS = ["comment_text", "toxic", *SUB_LABELS]
TARGET = Path(__file__).resolve().parent / "jigsaw_wiki_sample.csv.gz"


def sample_rows(source: pd.DataFrame, partial_rows: int, seed: int) -> pd.DataFrame:
    """All fully labelled rows + partial_rows toxic-only rows, stratified on toxic, shuffled."""
    full = source[source[SUB_LABELS].notna().all(axis=1)]
    partial = source.drop(full.index)
    share = partial_rows / len(partial)
    drawn = partial.groupby("toxic", group_keys=False).sample(frac=share, random_state=seed)
    return pd.concat([full, drawn]).sample(frac=1.0, random_state=seed)[COLUMNS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="jigsaw_wiki_train.csv")
    parser.add_argument("--partial-rows", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    sample = sample_rows(pd.read_csv(args.source), args.partial_rows, args.seed)
    partial = TARGET.with_name(f"{TARGET.name}.part")
    # mtime=0: the same rows give byte-identical files, so a rebuild shows no spurious diff.
    with open(partial, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
        out.write(sample.to_csv(index=False).encode())
    os.replace(partial, TARGET)
    labelled = sample[SUB_LABELS].notna().all(axis=1)
    print(f"{TARGET.name}: {len(sample):,} rows ({int(labelled.sum()):,} with all six labels)")
    for label in COLUMNS[1:]:
        known = sample[label].dropna()
        print(f"  {label}: {int(known.sum()):,} positive of {len(known):,} ({known.mean():.2%})")


if __name__ == "__main__":
    main()

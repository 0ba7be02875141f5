"""Study: the reader of disguised words alone (pyfunc/respelling.py), per setting. No model.

    nice python -m bench.studies.reader --config configs/jigsaw_wiki.yaml \
        --source ../shared/data/jigsaw_wiki_train.csv [-V name:dropped_rarity=10 ...]

Preprocesses the source as the preprocess step does and builds the reader as training does: the
training split's lexicon, its tokenizer's whole words and their counted ranks. Disguises the test
split as the evasion bench does (each lexicon word of a toxic comment; a fifth of the words of a
clean one, at most --negatives of them), family by family, and reads every text with the shipped
reader and each -V variant (Respeller's rival_frequency, dropped_rarity). Counts per family the
lexicon words of the toxic comments that are no longer found once disguised (lost) and the
lexicon words found in a disguised clean comment that were not in it (misread), and per variant
the test comments read otherwise than the shipped reader reads them. What the reader's
thresholds trade, without the noise of training a model per setting (bench/quality/evasion.py).
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.cli import bench_parser, overrides, variants
from bench.common import Summary, portable, record
from pyfunc.respelling import Respeller, known_words
from toxic_mlops.config import load_config
from toxic_mlops.data.dataset import TEXT
from toxic_mlops.data.preprocessing import prepare
from toxic_mlops.evaluation.evasion import FAMILIES, WORD, AttackSet
from toxic_mlops.model.obfuscation import training_words

SHIPPED = "shipped"


def lexicon_counts(read: Callable[[str], str], lexicon: frozenset[str], text: str) -> Counter:
    """The lexicon words of text as read."""
    return Counter(word for word in WORD.findall(read(text).lower()) if word in lexicon)


def tally(read: Callable[[str], str], lexicon: frozenset[str], attacks: AttackSet) -> dict:
    """Per family: lexicon words lost from the toxic comments, of those found clean, and
    lexicon words the disguised clean comments gained."""
    clean_toxic = [lexicon_counts(read, lexicon, t) for t in attacks.toxic]
    clean_negatives = [lexicon_counts(read, lexicon, t) for t in attacks.negatives]
    found = sum(sum(counts.values()) for counts in clean_toxic)
    families = {}
    for family, (toxic, negatives) in attacks.attacked.items():
        lost = sum(
            sum((before - lexicon_counts(read, lexicon, text)).values())
            for before, text in zip(clean_toxic, toxic, strict=True)
        )
        misread = sum(
            sum((lexicon_counts(read, lexicon, text) - before).values())
            for before, text in zip(clean_negatives, negatives, strict=True)
        )
        families[family] = {"lost": lost, "misread": misread}
    return {"found": found, "families": families}


def parse_variants(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """The shipped reader, then each -V variant's thresholds."""
    given = variants(args) if args.variants else {}
    return {SHIPPED: {}} | {
        name: {key: float(value) for key, value in changes.items()}
        for name, changes in given.items()
    }


def main() -> None:
    parser = bench_parser(__doc__, config=True, source=True, params=True, variants=True)
    parser.add_argument("--negatives", type=int, default=2000)
    args = parser.parse_args()
    settings = overrides(args)
    config = load_config(args.config, settings)
    dataset = config.dataset
    prepared = prepare(config, args.source)
    train, test = prepared.splits["train"], prepared.splits["test"]
    lexicon, commonest = training_words(train, config)
    known = known_words(prepared.tokenizer.get_vocab(), commonest)
    texts = test[TEXT].tolist()
    attacks = AttackSet.build(
        texts,
        test[dataset.label_columns].to_numpy(np.float32),
        dataset.positive_threshold,
        lexicon,
        FAMILIES,
        args.negatives,
    )
    settings_by_name = parse_variants(args)
    misread_letters = config.robustness.misread_letters
    words = frozenset(lexicon)
    shipped_reading: list[str] = []
    report: dict = {
        "source": Path(args.source).name,
        "config": portable(args.config),
        "overrides": settings,
        "rows": {name: len(part) for name, part in prepared.splits.items()},
        "lexicon_size": len(lexicon),
        "toxic": len(attacks.toxic),
        "negatives": len(attacks.negatives),
        "variants": settings_by_name,
        "results": {},
    }
    for name, changes in settings_by_name.items():
        reader = Respeller(lexicon, known, misread_letters, **changes)

        def read(text: str, reader: Respeller = reader) -> str:
            return config.normalization(text, reader)

        result = tally(read, words, attacks)
        readings = [read(text) for text in texts]
        shipped_reading = shipped_reading or readings
        result["read_otherwise"] = sum(
            a != b for a, b in zip(readings, shipped_reading, strict=True)
        )
        report["results"][name] = result
        print(name, sum(f["lost"] for f in result["families"].values()), flush=True)
    record(f"reader-{dataset.name}", report)


def summarize(report: dict) -> Summary:
    """Per variant: lexicon words lost over every family, of those found clean times the
    families; clean words misread; test comments read otherwise than by the shipped reader;
    and its worst family for each."""
    rows = []
    for name, result in report["results"].items():
        families = result["families"]
        lost = sum(f["lost"] for f in families.values())
        misread = sum(f["misread"] for f in families.values())
        most_lost = max(families, key=lambda f: families[f]["lost"])
        most_misread = max(families, key=lambda f: families[f]["misread"])
        rows.append(
            (
                " ".join([name, *(f"{k}={v:g}" for k, v in report["variants"][name].items())]),
                f"{lost:,} ({most_lost} {families[most_lost]['lost']:,})",
                f"{misread:,} ({most_misread} {families[most_misread]['misread']:,})",
                f"{result['read_otherwise']:,}",
            )
        )
    first = next(iter(report["results"].values()))
    sentence = (
        f"The reader alone on the test split of {report['source']}: {report['toxic']:,} toxic "
        f"comments with {first['found']:,} words of its {report['lexicon_size']}-word lexicon "
        f"in them, each disguised by {len(first['families'])} families, and "
        f"{report['negatives']:,} clean ones with a fifth of their words so "
        f"({report['rows']['train']:,} training rows; docs/evasion.md)."
    )
    columns = (
        "reader",
        "lexicon words lost (worst)",
        "clean words misread (worst)",
        "read otherwise",
    )
    return Summary(sentence, columns, rows)


if __name__ == "__main__":
    main()

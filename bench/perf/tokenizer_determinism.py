"""Benchmark: is each Hugging Face tokenizer trainer deterministic on the same texts?

    python -m bench.perf.tokenizer_determinism [--runs 3]

Trains each variant several times in separate processes on 20,000 comments of
../shared/data/jigsaw_wiki_train.csv (the bundled sample's comments when absent) and counts
distinct tokenizer.json files: 1 means reproducible.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys

from bench.cli import bench_parser
from bench.common import ROOT, Summary, record
from bench.data import SHARED, comments

TEXTS = SHARED / "jigsaw_wiki_train.csv"
VARIANTS = ("wordpiece", "bpe_prefix", "bpe_suffix", "unigram", "bpe", "bpe_metaspace")


def train(variant: str) -> str:
    """The sha256 of the tokenizer JSON one variant trains on the texts."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    from pyfunc.text import Normalizer
    from toxic_mlops.data.tokenizer import train_tokenizer

    texts, _ = comments(TEXTS, rows=20000)
    if variant == "bpe_metaspace":  # the project's own trainer
        return hashlib.sha256(
            train_tokenizer(texts, Normalizer(), 20000, 2).to_str().encode()
        ).hexdigest()
    texts = [Normalizer()(t) for t in texts]
    special = {"special_tokens": ["[PAD]", "[UNK]"], "show_progress": False}
    model, trainer = {
        "wordpiece": (
            models.WordPiece(unk_token="[UNK]"),
            trainers.WordPieceTrainer(vocab_size=20000, **special),
        ),
        "bpe_prefix": (
            models.BPE(unk_token="[UNK]", continuing_subword_prefix="##"),
            trainers.BpeTrainer(vocab_size=20000, continuing_subword_prefix="##", **special),
        ),
        "bpe_suffix": (
            models.BPE(unk_token="[UNK]", end_of_word_suffix="</w>"),
            trainers.BpeTrainer(vocab_size=20000, end_of_word_suffix="</w>", **special),
        ),
        "unigram": (
            models.Unigram(),
            trainers.UnigramTrainer(vocab_size=20000, unk_token="[UNK]", **special),
        ),
        "bpe": (models.BPE(unk_token="[UNK]"), trainers.BpeTrainer(vocab_size=20000, **special)),
    }[variant]
    tokenizer = Tokenizer(model)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return hashlib.sha256(tokenizer.to_str().encode()).hexdigest()


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--train":
        print(train(sys.argv[2]))
        return
    parser = bench_parser(__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    report = {}
    for variant in VARIANTS:
        digests = {
            subprocess.run(
                [sys.executable, "-m", "bench.perf.tokenizer_determinism", "--train", variant],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
                env={"PYTHONPATH": str(ROOT), "PATH": ""},
            ).stdout.strip()
            for _ in range(args.runs)
        }
        report[variant] = {"runs": args.runs, "distinct_vocabularies": len(digests)}
    record("tokenizer_determinism", {"texts": comments(TEXTS, rows=1)[1], **report})


def summarize(report: dict) -> Summary:
    """Distinct vocabularies per trainer over separate runs on the same texts."""
    variants = {k: v for k, v in report.items() if isinstance(v, dict)}
    rows = [
        (name, found["runs"], found["distinct_vocabularies"]) for name, found in variants.items()
    ]
    stable = [name for name, found in variants.items() if found["distinct_vocabularies"] == 1]
    sentence = (
        f"On {report['texts']}, only {', '.join(stable) or 'no trainer'} gave the same vocabulary "
        "on every run (1 distinct vocabulary = reproducible)."
    )
    return Summary(sentence, ("trainer", "runs", "distinct vocabularies"), rows)


if __name__ == "__main__":
    main()

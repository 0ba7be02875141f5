"""The toxic-span tagger: word labels from span annotations, its epoch loop, the word threshold."""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from pyfunc.encoding import TextEncoder
from pyfunc.explain import token_scores
from pyfunc.network import ToxicityNet
from pyfunc.scoring import ModelSpec
from pyfunc.spans import (
    LEXICON_FEATURES,
    ReadText,
    SpanSettings,
    SpanTagger,
    read_text,
    toxic_ranges,
    word_scores,
)
from toxic_mlops.config import Config, SpansConfig
from toxic_mlops.model.assessment import TrainedModel
from toxic_mlops.spans.metrics import (
    Lexicon,
    SpanPost,
    bootstrap_interval,
    holdout_split,
    load_span_posts,
    post_f1s,
    ranges_to_offsets,
)

LEXICON_SMOOTHING = 2.0  # pseudo-counts at the overall toxic share
LEXICON_FOLDS = 5
# Fallbacks tried for a comment with no toxic word: these quantiles of the word scores.
FALLBACK_QUANTILES = np.linspace(0.05, 0.95, 19)
# Word thresholds tried: these quantiles of the word scores (their scale differs by method).
THRESHOLD_QUANTILES = np.linspace(0.3, 0.995, 50)


@dataclass(frozen=True)
class LabelledText:
    read: ReadText
    labels: np.ndarray  # per token: 1 toxic word, 0 other word, -1 not in a word (no loss)


def label_post(encoder: TextEncoder, post: SpanPost, max_len: int) -> LabelledText:
    """A word is toxic when most of its raw characters are marked; its tokens share the label."""
    read = read_text(encoder, post.text, max_len)
    labels = np.full(len(read.ids), -1.0)
    for word in read.words:
        marked = sum(i in post.offsets for i in range(word.start, word.end))
        labels[list(word.tokens)] = float(2 * marked > word.end - word.start)
    return LabelledText(read, labels)


def _lexicon_table(seen: np.ndarray, toxic: np.ndarray, overall: float) -> np.ndarray:
    """(log-odds of toxic, smoothed towards the overall share; log(1 + seen)) per key."""
    rate = (toxic + LEXICON_SMOOTHING * overall) / (seen + LEXICON_SMOOTHING)
    return np.stack([np.log(rate / (1 - rate)), np.log1p(seen)], axis=1).astype(np.float32)


def set_lexicons(
    tagger: SpanTagger, texts: Sequence[LabelledText], folds: int, seed: int
) -> list[np.ndarray]:
    """Sets the tagger's token and word lexicons from all texts; returns each text's lexicon
    features [tokens, LEXICON_FEATURES] counted out of its fold, so that training sees them as
    they are on unseen text (a word's own label never leaks into its feature)."""
    sizes = (tagger.token_lexicon.size(0), tagger.word_lexicon.size(0))
    fold_of = np.random.default_rng(seed).integers(0, folds, len(texts))
    seen = [np.zeros((folds, size)) for size in sizes]
    toxic = [np.zeros((folds, size)) for size in sizes]
    keys = []
    for text, fold in zip(texts, fold_of, strict=True):
        known = text.labels >= 0
        keys.append((np.asarray(text.read.ids), np.asarray(text.read.word_buckets())))
        for table, key in enumerate(keys[-1]):
            np.add.at(seen[table][fold], key[known], 1)
            np.add.at(toxic[table][fold], key[known], text.labels[known])
    overall = toxic[0].sum() / max(seen[0].sum(), 1)
    tagger.token_lexicon.copy_(
        torch.from_numpy(_lexicon_table(seen[0].sum(0), toxic[0].sum(0), overall))
    )
    tagger.word_lexicon.copy_(
        torch.from_numpy(_lexicon_table(seen[1].sum(0), toxic[1].sum(0), overall))
    )
    out_of_fold = [
        [
            _lexicon_table(seen[t].sum(0) - seen[t][f], toxic[t].sum(0) - toxic[t][f], overall)
            for t in range(2)
        ]
        for f in range(folds)
    ]
    return [
        np.concatenate([out_of_fold[f][0][tokens], out_of_fold[f][1][words]], axis=1)
        for (tokens, words), f in zip(keys, fold_of, strict=True)
    ]


def predicted_offsets(
    reads: Sequence[ReadText],
    scores: Sequence[np.ndarray],
    threshold: float,
    fallback: float | None = None,
) -> list[set[int]]:
    per_word = [
        word_scores(read, token.tolist()) for read, token in zip(reads, scores, strict=True)
    ]
    return _offsets(reads, per_word, threshold, fallback)


def _offsets(
    reads: Sequence[ReadText],
    per_word: Sequence[list[float]],
    threshold: float,
    fallback: float | None,
) -> list[set[int]]:
    return [
        ranges_to_offsets(
            (start, end) for start, end, _ in toxic_ranges(read.words, words, threshold, fallback)
        )
        for read, words in zip(reads, per_word, strict=True)
    ]


def best_threshold(
    reads: Sequence[ReadText], scores: Sequence[np.ndarray], gold: Sequence[frozenset[int]]
) -> tuple[float, float | None, float]:
    """(threshold, fallback, mean char F1): the threshold with the best mean char F1 among
    quantiles of the word scores, then the best fallback under it (or none)."""
    per_word = [
        word_scores(read, token.tolist()) for read, token in zip(reads, scores, strict=True)
    ]
    words = [score for scores_of_post in per_word for score in scores_of_post]
    if not words:
        return 0.5, None, float(post_f1s([set()] * len(gold), gold).mean())

    def f1(threshold: float, fallback: float | None) -> float:
        return float(post_f1s(_offsets(reads, per_word, threshold, fallback), gold).mean())

    candidates = np.unique(np.quantile(words, THRESHOLD_QUANTILES))
    threshold = float(max(candidates, key=lambda t: f1(t, None)))
    fallbacks = [None, *(float(f) for f in np.unique(np.quantile(words, FALLBACK_QUANTILES)))]
    fallback = max(
        (f for f in fallbacks if f is None or f < threshold), key=lambda f: f1(threshold, f)
    )
    return threshold, fallback, f1(threshold, fallback)


def span_scores(
    network: ToxicityNet, encoder: TextEncoder, settings: SpanSettings, texts: Sequence[str]
) -> tuple[list[ReadText], list[np.ndarray]]:
    reads = [read_text(encoder, text, settings.max_len) for text in texts]
    return reads, token_scores(network, encoder, reads, settings, batch_size=256)


@dataclass
class SpanFit:
    settings: SpanSettings  # what the served model uses
    threshold_f1: float  # mean char F1 on the threshold part, at that threshold
    history: list[dict[str, float]] = field(default_factory=list)


def choose_wide_threshold(
    network: ToxicityNet, encoder: TextEncoder, posts: Sequence[SpanPost], max_len: int
) -> SpanFit:
    """Spans from the classifier's wide path: only the word threshold is learnt (on posts)."""
    settings = SpanSettings(method="wide", max_len=max_len)
    reads, scores = span_scores(network, encoder, settings, [p.text for p in posts])
    threshold, fallback, f1 = best_threshold(reads, scores, [p.offsets for p in posts])
    return SpanFit(SpanSettings("wide", threshold, fallback, max_len), f1)


def _batches(count: int, size: int, rng: np.random.Generator) -> list[np.ndarray]:
    order = rng.permutation(count)
    return [order[i : i + size] for i in range(0, count, size)]


def _epoch(
    network: ToxicityNet,
    encoder: TextEncoder,
    texts: Sequence[LabelledText],
    lexicon: Sequence[np.ndarray],
    optimizer: torch.optim.Optimizer,
    batches: list[np.ndarray],
) -> float:
    tagger = network.span_tagger
    assert tagger is not None
    tagger.train()
    total, count = 0.0, 0
    for batch in batches:
        token_ids, lengths = encoder.pad([texts[i].read.ids for i in batch])
        targets = torch.full(token_ids.shape, -1.0)
        features = torch.zeros((*token_ids.shape, LEXICON_FEATURES))
        for row, i in enumerate(batch):
            targets[row, : len(texts[i].labels)] = torch.from_numpy(texts[i].labels)
            features[row, : len(texts[i].labels)] = torch.from_numpy(lexicon[i])
        known = targets >= 0
        prior = torch.cat([network.token_prior(token_ids).detach(), features], dim=-1)
        logits = tagger(token_ids, lengths, prior)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits[known], targets[known])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total, count = total + loss.item() * len(batch), count + len(batch)
    tagger.eval()
    return total / max(count, 1)


def train_span_tagger(
    network: ToxicityNet,
    encoder: TextEncoder,
    posts: Sequence[SpanPost],
    settings: SpansConfig,
) -> SpanFit:
    """Trains network.span_tagger on posts (all but a threshold part, which picks the epoch and
    the threshold); the tagger starts from the classifier's embedding. Only the tagger learns."""
    tagger = network.span_tagger
    assert isinstance(tagger, SpanTagger), "the network needs span_hidden_size > 0"
    with torch.no_grad():
        tagger.embedding.weight.copy_(network.embedding.weight)
    rng = np.random.default_rng(settings.seed)
    order = rng.permutation(len(posts))
    held = max(1, int(round(len(posts) * settings.threshold_fraction)))
    fit_posts = [posts[i] for i in order[held:]]
    pick_posts = [posts[i] for i in order[:held]]
    texts = [label_post(encoder, post, settings.max_len) for post in fit_posts]
    lexicon = set_lexicons(tagger, texts, LEXICON_FOLDS, settings.seed)
    pick_reads = [read_text(encoder, post.text, settings.max_len) for post in pick_posts]
    pick_gold = [post.offsets for post in pick_posts]
    optimizer = torch.optim.Adam(tagger.parameters(), lr=settings.learning_rate)
    tagger_settings = SpanSettings(method="tagger", max_len=settings.max_len)
    best: SpanFit | None = None
    best_state = None
    history = []
    for epoch in tqdm(range(1, settings.epochs + 1), desc="span tagger", disable=None):
        started = time.perf_counter()
        batches = _batches(len(texts), settings.batch_size, rng)
        loss = _epoch(network, encoder, texts, lexicon, optimizer, batches)
        scores = token_scores(network, encoder, pick_reads, tagger_settings, batch_size=256)
        threshold, fallback, f1 = best_threshold(pick_reads, scores, pick_gold)
        record = {
            "epoch": epoch,
            "loss": loss,
            "threshold_f1": f1,
            "threshold": threshold,
            "fallback": fallback,
            "seconds": time.perf_counter() - started,
        }
        if best is None or f1 > best.threshold_f1:
            best = SpanFit(SpanSettings("tagger", threshold, fallback, settings.max_len), f1)
            best_state = copy.deepcopy(tagger.state_dict())
        history.append(record)
    assert best is not None and best_state is not None
    best.history = history
    tagger.load_state_dict(best_state)
    network.eval()
    return best


def with_span_tagger(network: ToxicityNet, hidden_size: int, seed: int) -> ToxicityNet:
    """The same classifier (same weights) with a new, untrained span tagger attached."""
    config = replace(network.config, span_hidden_size=hidden_size)
    torch.manual_seed(seed)
    tagged = ToxicityNet(config)
    missing, unexpected = tagged.load_state_dict(network.state_dict(), strict=False)
    assert not unexpected and all(key.startswith("span_tagger.") for key in missing)
    return tagged.eval()


@dataclass(frozen=True)
class SpanReport:
    """The span figures on the held-out part, the shipped method's and the lexicon's."""

    method: str
    threshold: float
    fallback: float | None
    char_f1: float
    char_f1_interval: tuple[float, float]
    lexicon_char_f1: float
    alternative: str  # the method not shipped, and its held-out char F1
    alternative_char_f1: float
    posts_train: int
    posts_held_out: int
    empty_gold_share: float
    examples: list[dict[str, object]]  # a few held-out posts: text, gold and predicted ranges

    def metrics(self) -> dict[str, float]:
        return {
            "spans_char_f1": self.char_f1,
            "spans_char_f1_low": self.char_f1_interval[0],
            "spans_char_f1_high": self.char_f1_interval[1],
            "spans_lexicon_char_f1": self.lexicon_char_f1,
            f"spans_{self.alternative}_char_f1": self.alternative_char_f1,
            "spans_threshold": self.threshold,
            "spans_posts_train": self.posts_train,
            "spans_posts_held_out": self.posts_held_out,
            "spans_empty_gold_share": self.empty_gold_share,
        }

    def summary(self) -> str:
        return (
            f"spans ({self.method}): char F1 {self.char_f1:.4f} on {self.posts_held_out} held-out "
            f"posts, lexicon {self.lexicon_char_f1:.4f}, {self.alternative} "
            f"{self.alternative_char_f1:.4f}"
        )


def _ranges(offsets: set[int] | frozenset[int]) -> list[list[int]]:
    ranges: list[list[int]] = []
    for i in sorted(offsets):
        if ranges and ranges[-1][1] == i:
            ranges[-1][1] = i + 1
        else:
            ranges.append([i, i + 1])
    return ranges


def _held_out_f1s(
    network: ToxicityNet, encoder: TextEncoder, settings: SpanSettings, posts: Sequence[SpanPost]
) -> tuple[np.ndarray, list[set[int]]]:
    reads, scores = span_scores(network, encoder, settings, [p.text for p in posts])
    predicted = predicted_offsets(reads, scores, settings.threshold, settings.fallback)
    return post_f1s(predicted, [p.offsets for p in posts]), predicted


def fit_spans(
    network: ToxicityNet,
    encoder: TextEncoder,
    posts: Sequence[SpanPost],
    settings: SpansConfig,
    examples: int = 5,
) -> tuple[ToxicityNet, SpanSettings, SpanReport]:
    """Both span methods fitted on the training part (the tagger on its own head, the wide path's
    word threshold); the better on the threshold part ships. Measured on the held-out part."""
    train_idx, held_idx = holdout_split(len(posts), settings.holdout_fraction, settings.seed)
    train, held = [posts[i] for i in train_idx], [posts[i] for i in held_idx]
    tagged = with_span_tagger(network, settings.hidden_size, settings.seed)
    tagger = train_span_tagger(tagged, encoder, train, settings)
    candidates = {"tagger": (tagged, tagger)}
    if network.ngrams is not None:
        candidates["wide"] = (
            network,
            choose_wide_threshold(network, encoder, train, settings.max_len),
        )
    held_f1s = {
        name: _held_out_f1s(net, encoder, fit.settings, held)
        for name, (net, fit) in candidates.items()
    }
    shipped = max(candidates, key=lambda name: candidates[name][1].threshold_f1)
    other = next((name for name in candidates if name != shipped), shipped)
    f1s, predicted = held_f1s[shipped]
    lexicon = Lexicon.learn(train)
    gold = [p.offsets for p in held]
    shown = [i for i in range(len(held)) if held[i].offsets and len(held[i].text) < 200][:examples]
    report = SpanReport(
        method=shipped,
        threshold=candidates[shipped][1].settings.threshold,
        fallback=candidates[shipped][1].settings.fallback,
        char_f1=float(f1s.mean()),
        char_f1_interval=bootstrap_interval(f1s, settings.seed),
        lexicon_char_f1=float(post_f1s([lexicon.predict(p.text) for p in held], gold).mean()),
        alternative=other,
        alternative_char_f1=float(held_f1s[other][0].mean()),
        posts_train=len(train),
        posts_held_out=len(held),
        empty_gold_share=float(np.mean([not g for g in gold])),
        examples=[
            {
                "text": held[i].text,
                "gold": _ranges(held[i].offsets),
                "predicted": _ranges(predicted[i]),
            }
            for i in shown
        ],
    )
    net, fit = candidates[shipped]
    return net, fit.settings, report


def default_span_settings(network: ToxicityNet, spec: ModelSpec) -> SpanSettings:
    """With no span data: a word is toxic when the wide path alone would flag a text of just it
    (the first label's tuned threshold); a network without a wide path gives no spans."""
    if network.ngrams is None:
        return SpanSettings(method="none")
    return SpanSettings(method="wide", threshold=spec.thresholds.get(spec.labels[0], 0.5))


def with_spans(
    trained: TrainedModel, config: Config, cache_dir: Path
) -> tuple[TrainedModel, SpanReport | None]:
    """The trained model with its span scorer: fitted on config.spans' data when there is some."""
    network, spec = trained.fitted.result.network, trained.spec
    if not config.spans.enabled:
        return replace(
            trained, spec=replace(spec, spans=default_span_settings(network, spec))
        ), None
    spans = config.spans
    posts = load_span_posts(spans.sources, spans.sha256, cache_dir)
    shipped, settings, report = fit_spans(network, trained.fitted.encoder, posts, spans)
    fitted = replace(trained.fitted, result=replace(trained.fitted.result, network=shipped))
    spec = replace(spec, network=shipped.config, spans=settings)
    return replace(trained, fitted=fitted, spec=spec), report

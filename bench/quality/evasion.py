"""Benchmark: toxic comments with their toxic words disguised, the model against TF-IDF baselines.

    nice python -m bench.quality.evasion --config configs/jigsaw_wiki.yaml \
        --source ../shared/data/jigsaw_wiki_train.csv [-V name:key=value,... ...]

Splits the source as the preprocess step does and trains the config's model (or each -V variant:
model, training, augment or normalization overrides, on the same splits) beside two baselines with
a plain normaliser: TF-IDF word 1-2-grams + LR (the gate's baseline) and TF-IDF character 2-5-grams
+ LR. The attacks are toxic_mlops/evaluation/evasion.py's families (what the evaluate step's model
card reports) plus, with `nlpaug` installed (the bench extra: `pip install '.[bench]'`), its
keyboard-typo and OCR character edits. The words disguised are the training split's most
toxic-looking ones (smoothed log-odds). Per scorer and family, on the test split's first label:
ROC-AUC of the disguised toxic comments against the clean non-toxic ones beside the same comments
clean (paired-bootstrap 95 % interval of the difference), the share still flagged at the threshold
tuned on validation, and the false positives of disguised non-toxic comments. Also innocent words
people write disguised ("cl@ss", "a$$ert", "Scunthorpe"), scored.
"""

from __future__ import annotations

import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from bench.cli import bench_parser, overrides, variants
from bench.common import Summary, figure, record
from bench.fitting import fit_model
from pyfunc.encoding import TextEncoder
from pyfunc.text import Normalizer
from toxic_mlops.config import TUNABLE_SECTIONS, Config, EvaluationConfig, load_config, override
from toxic_mlops.data.dataset import TEXT
from toxic_mlops.data.preprocessing import Preprocessed, prepare
from toxic_mlops.data.tokenizer import train_tokenizer
from toxic_mlops.evaluation.baseline import TfidfBaseline
from toxic_mlops.evaluation.bootstrap import resampled_macro_auc
from toxic_mlops.evaluation.evasion import FAMILIES, Attack, AttackSet, Scored, toxic_lexicon
from toxic_mlops.evaluation.label_metrics import tune_thresholds
from toxic_mlops.evaluation.metrics import known_truth

VARIANT_SECTIONS = (*TUNABLE_SECTIONS, "normalization")
INNOCENT = [
    "this cl@ss was really useful",
    "please a$$ert that the value is set",
    "I grew up near Scunthorpe and Penistone",
    "we had a gr8 time, thanks 4 the help",
    "the c0ntent of the article is f1ne",
    "sh1take mushrooms and a cocktail",
    "assess the grass in Essex",
    "s u p e r nice work, w e l l done",
    "th\u0435 \u0430rticle is gr\u0435at",
    "thanks\u200b for the\u00ad edit",
    "AT&T and R&D, x^2, love\u2665 this lol\U0001f602 what?",
    "the co-op's e-mail: an x-ray of F-16s, no.1 in the 1970s?",
]


def nlpaug_families() -> dict[str, Attack]:
    """Keyboard typos and OCR confusions, one per word, from nlpaug when it is installed."""
    try:
        import nlpaug.augmenter.char as nac
    except ImportError:
        return {}

    def wrap(augmenter) -> Attack:
        def attack(word: str, rng: np.random.Generator) -> str:
            seed = int(rng.integers(2**31))  # nlpaug draws from the global generators
            random.seed(seed)
            np.random.seed(seed)
            return augmenter.augment(word)[0]

        return attack

    return {
        "keyboard": wrap(
            nac.KeyboardAug(
                aug_char_min=1, aug_char_max=1, aug_word_p=1.0, include_special_char=False
            )
        ),
        "ocr": wrap(nac.OcrAug(aug_char_min=1, aug_char_max=2, aug_word_p=1.0)),
    }


def char_baseline(texts: list[str], targets: np.ndarray, threshold: float):
    """TF-IDF character 2-5-grams (within words) + logistic regression, first label."""
    vectorizer = TfidfVectorizer(
        preprocessor=Normalizer(),
        analyzer="char_wb",
        ngram_range=(2, 5),
        min_df=2,
        max_features=300_000,
        sublinear_tf=True,
    )
    rows, truth = known_truth(targets, 0, threshold)
    features = vectorizer.fit_transform([texts[i] for i in np.flatnonzero(rows)])
    model = LogisticRegression(C=4.0, max_iter=1000, solver="liblinear").fit(features, truth)
    return lambda batch: model.predict_proba(vectorizer.transform(batch))[:, 1]


def clean_reread(encoder: TextEncoder, texts: list[str]) -> int:
    """How many of texts (clean comments) the model's reader of disguised words changes."""
    if encoder.respeller is None:
        return 0
    normalizer = encoder.normalizer
    return sum(normalizer(text, encoder.respeller) != normalizer(text) for text in texts)


def fit_variant(config: Config, prepared: Preprocessed, read_by: Normalizer, clean: list[str]):
    """One variant's model on the shared splits (prepared with the read_by normaliser), with a
    tokenizer of its own when it reads text differently: (predict, threshold, info); info
    counts the clean comments its reader of disguised words changes."""
    tokenizer = prepared.tokenizer
    if config.normalization != read_by:
        tokenizer = train_tokenizer(
            prepared.splits["train"][TEXT].tolist(),
            config.normalization,
            config.tokenizer.vocab_size,
            config.tokenizer.min_frequency,
        )
        # Pretrained vectors are matched to a vocabulary: training builds them for this one.
        prepared = replace(prepared, tokenizer=tokenizer, embeddings=None)
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer_file = Path(tmp) / "tokenizer.json"
        tokenizer.save(str(tokenizer_file))
        fitted = fit_model(config, prepared, tokenizer_file)
    info = {
        "val_per_epoch": fitted.val_per_epoch(),
        "best_epoch": fitted.best_epoch,
        "clean_reread": clean_reread(fitted.scorer.encoder, clean),
    }
    label = config.dataset.label_columns[0]
    threshold = fitted.trained.spec.thresholds[label]
    return lambda batch: fitted.predict(batch)[:, 0], threshold, info


def baselines(prepared: Preprocessed, config: Config) -> dict[str, tuple]:
    """TF-IDF words + LR and TF-IDF chars + LR with a plain normaliser, thresholds on val."""
    dataset = config.dataset
    train, val = prepared.splits["train"], prepared.splits["val"]
    targets = train[dataset.label_columns].to_numpy()
    words = TfidfBaseline(Normalizer()).fit(
        train[TEXT].tolist(), targets, dataset.positive_threshold
    )
    scorers = {
        "TF-IDF words + LR": lambda batch: words.predict_proba(batch)[:, 0],
        "TF-IDF chars + LR": char_baseline(
            train[TEXT].tolist(), targets, dataset.positive_threshold
        ),
    }
    label = dataset.label_columns[0]
    truth = val[[label]].to_numpy(np.float32)
    result = {}
    for name, predict in scorers.items():
        cut = tune_thresholds(
            truth, predict(val[TEXT].tolist())[:, None], [label], dataset.positive_threshold
        )
        result[name] = (predict, cut[label], {})
    return result


def _interval(values: np.ndarray) -> list[float]:
    return [round(float(v), 4) for v in np.percentile(values, [2.5, 97.5])]


def with_intervals(scored: Scored, threshold: float, settings: EvaluationConfig) -> dict:
    """Scored.figures plus, per family, the paired-bootstrap intervals of auc - clean auc and
    of fp - clean fp (the same comments disguised and clean), and bootstrap intervals of the
    flagged and false-positive shares."""
    figures = {k: round(v, 4) for k, v in scored.figures(threshold).items()}
    rng = np.random.default_rng(settings.bootstrap_seed)
    truth = np.r_[np.ones(len(scored.toxic)), np.zeros(len(scored.negatives))]
    resamples = settings.bootstrap_resamples
    draws = rng.integers(0, len(scored.toxic), size=(resamples, len(scored.toxic)))
    for family, (toxic, negatives) in scored.attacked.items():
        clean, attacked = (np.r_[s, scored.negatives][:, None] for s in (scored.toxic, toxic))
        resampled = resampled_macro_auc(truth[:, None], [clean, attacked], ["x"], 0.5, settings)
        figures[f"{family}_auc_delta_ci"] = _interval(resampled[1] - resampled[0])
        figures[f"{family}_flagged_ci"] = _interval((toxic >= threshold)[draws].mean(axis=1))
        negative_draws = rng.integers(0, len(negatives), size=(resamples, len(negatives)))
        false_positives = (negatives >= threshold)[negative_draws].mean(1)
        figures[f"{family}_fp_ci"] = _interval(false_positives)
        clean_false_positives = (scored.negatives >= threshold)[negative_draws].mean(1)
        figures[f"{family}_fp_delta_ci"] = _interval(false_positives - clean_false_positives)
    return figures


def main() -> None:
    parser = bench_parser(__doc__, config=True, source=True, params=True, variants=True)
    parser.add_argument("--lexicon-size", type=int, default=200)
    parser.add_argument("--no-baselines", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    config = load_config(args.config, overrides(args, num_threads="1"), VARIANT_SECTIONS)
    dataset = config.dataset
    prepared = prepare(config, args.source)
    train, test = prepared.splits["train"], prepared.splits["test"]
    train_toxic = train[dataset.label_columns[0]].fillna(0).to_numpy() >= dataset.positive_threshold
    lexicon = toxic_lexicon(train[TEXT].tolist(), train_toxic, args.lexicon_size)
    attacks = AttackSet.build(
        test[TEXT].tolist(),
        test[dataset.label_columns].to_numpy(np.float32),
        dataset.positive_threshold,
        lexicon,
        {**FAMILIES, **nlpaug_families()},
    )
    scorers = {} if args.no_baselines else baselines(prepared, config)
    named = variants(args)
    for name, changes in named.items():
        variant = override(config, changes, VARIANT_SECTIONS) if changes else config
        scorers[name] = fit_variant(variant, prepared, config.normalization, attacks.negatives)
        print(name, scorers[name][2], flush=True)

    report = {
        "source": Path(args.source).name,
        "config": args.config,
        "overrides": overrides(args, num_threads="1"),
        "variants": named,
        "label": dataset.label_columns[0],
        "rows": {n: len(part) for n, part in prepared.splits.items()},
        "lexicon_size": len(lexicon),
        "toxic_attacked": len(attacks.toxic),
        "negatives": len(attacks.negatives),
        "families": list(attacks.attacked),
        "scorers": {},
    }
    for name, (predict, cut, info) in scorers.items():
        scored = Scored.of(predict, attacks)
        innocent = predict(INNOCENT)
        report["scorers"][name] = {
            "threshold": round(float(cut), 5),
            **info,
            "figures": with_intervals(scored, cut, config.evaluation),
            "innocent_flagged": [t for t, s in zip(INNOCENT, innocent, strict=True) if s >= cut],
            "innocent_max_score": round(float(innocent.max()), 4),
        }
        print(name, "done", flush=True)
    report["seconds"] = round(time.perf_counter() - started, 1)
    record(f"evasion-{dataset.name}", report)


def summarize(report: dict) -> Summary:
    """Per attack family: the shipped model's (the last variant's) ROC-AUC against clean
    negatives with the share of its clean flagged share still flagged, the first variant's
    (the model before) and each baseline's ROC-AUC. The families the shipped model reads as
    clean text share one row (each scorer's lowest over them); the worst family of every
    scorer and the false positives are in the sentence."""
    scorers = report["scorers"]
    *earlier, model = scorers
    names = [model, *earlier]
    baselines = [name for name in earlier if name.startswith("TF-IDF")]
    shown = [name for name in earlier if name not in baselines][:1] + baselines
    ours = scorers[model]["figures"]

    def aucs(families: list[str]) -> list[str]:
        return [
            figure(min(scorers[name]["figures"][f"{f}_auc"] for f in families), 3) for name in shown
        ]

    as_clean = [
        f
        for f in report["families"]
        if ours[f"{f}_retained"] >= 0.995 and ours[f"{f}_auc"] >= ours["clean_auc"] - 0.001
    ]
    rows = [("clean", f"{figure(ours['clean_auc'], 3)} (1)", *aucs(["clean"]))]
    if as_clean:
        label = "read as clean: " + ", ".join(f.replace("_", " ") for f in as_clean)
        lowest = min(ours[f"{f}_auc"] for f in as_clean)
        rows.append((label, f"{figure(lowest, 3)} (1)", *aucs(as_clean)))
    for family in (f for f in report["families"] if f not in as_clean):
        kept = figure(ours[f"{family}_retained"], 2)
        rows.append(
            (
                family.replace("_", " "),
                f"{figure(ours[f'{family}_auc'], 3)} ({kept})",
                *aucs([family]),
            )
        )

    def worst(name: str) -> str:
        figures = scorers[name]["figures"]
        family = min(report["families"], key=lambda f: figures[f"{f}_auc"])
        return f"{name} {figure(figures[f'{family}_auc'], 3)} ({family})"

    most_fp = max(ours[f"{f}_fp"] for f in report["families"])
    # The paired interval of fp - clean fp: results recorded before it went without.
    paired = [f for f in report["families"] if f"{f}_fp_delta_ci" in ours]
    above = [f for f in paired if ours[f"{f}_fp_delta_ci"][0] > 0]
    beyond = f" ({len(above)} of {len(paired)} families above clean beyond the noise)"
    sentence = (
        f"{report['toxic_attacked']:,} toxic test comments of {report['source']}, each "
        f"toxic-looking word disguised, against {report['negatives']:,} clean ones "
        f"({report['label']}; docs/evasion.md). Lowest ROC-AUC: "
        f"{'; '.join(worst(n) for n in names)}. False positives of {model}: "
        f"{figure(ours['clean_fp'], 2)} on clean text, at most {figure(most_fp, 2)} with words "
        f"disguised{beyond if paired else ''}."
    )
    rereads = {n: scorers[n]["clean_reread"] for n in names if "clean_reread" in scorers[n]}
    if rereads:
        sentence += " Clean comments the reader of disguised words changes: " + "; ".join(
            f"{name} {count:,}" for name, count in rereads.items()
        )
        sentence += "."
    columns = ("attack", f"{model}: ROC-AUC (kept)", *shown)
    return Summary(sentence, columns, rows)


if __name__ == "__main__":
    main()

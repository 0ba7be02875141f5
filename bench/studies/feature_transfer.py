"""Study: which TF-IDF features transfer to other sources? scikit-learn, no network.

    nice python -m bench.studies.feature_transfer --config configs/jigsaw_wiki.yaml \
        --source ../shared/data/jigsaw_wiki_train.csv

Splits the source as the preprocess step does and trains its BPE tokenizer, then fits one
logistic regression (liblinear, C 4) on the first label for each feature set: the baseline's
word 1-2-grams, the tokenizer's sub-word 1-2-grams (the old wide path), words rebuilt from the
sub-words, sub-words plus each sub-word's char 2-5-grams (what the wide path reads with
model.char_ngram_max: 5) and words plus scikit-learn's char_wb 2-5-grams. Reports ROC-AUC on
the source's own test split, Davidson tweets and Civil Comments posts (../shared/data).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from bench.cli import bench_parser
from bench.common import Summary, portable, record
from bench.data import other_sources
from toxic_mlops.config import load_config
from toxic_mlops.data.dataset import TEXT
from toxic_mlops.data.preprocessing import prepare
from toxic_mlops.model.wide import WORD_START, char_ngrams

C = 4.0


def _bigrams(tokens: Callable[[str], list[str]]) -> Callable[[str], list[str]]:
    def analyse(text: str) -> list[str]:
        found = tokens(text)
        return found + [f"{a} {b}" for a, b in zip(found, found[1:], strict=False)]

    return analyse


def main() -> None:
    args = bench_parser(__doc__, config=True, source=True).parse_args()
    config = load_config(args.config, {"bias_mitigation": "none"})
    prepared = prepare(config, args.source)
    tokenizer, normalizer = prepared.tokenizer, config.normalization
    label = config.dataset.label_columns[0]

    def pieces(text: str) -> list[str]:
        return tokenizer.encode(normalizer(text), add_special_tokens=False).tokens

    def words(text: str) -> list[str]:
        rebuilt: list[str] = []
        for piece in pieces(text):
            if piece.startswith(WORD_START) or not rebuilt:
                rebuilt.append(piece)
            else:
                rebuilt[-1] += piece
        return rebuilt

    def pieces_and_chars(text: str) -> list[str]:
        found = pieces(text)
        grams = [f"#{g}" for piece in found for g in char_ngrams(piece, 5)]
        return _bigrams(lambda _: found)(text) + grams

    def word_tfidf() -> TfidfVectorizer:  # the project's baseline features
        return TfidfVectorizer(
            preprocessor=normalizer,
            ngram_range=(1, 2),
            min_df=2,
            max_features=200_000,
            sublinear_tf=True,
        )

    char_wb = dict(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True)
    feature_sets = {
        "word 1-2-grams (baseline)": lambda: [word_tfidf()],
        "sub-word 1-2-grams": lambda: [TfidfVectorizer(analyzer=_bigrams(pieces), binary=True)],
        "words rebuilt from sub-words, 1-2-grams": lambda: [
            TfidfVectorizer(analyzer=_bigrams(words), sublinear_tf=True, min_df=2)
        ],
        "sub-word 1-2-grams + their char 2-5-grams": lambda: [
            TfidfVectorizer(analyzer=pieces_and_chars, binary=True)
        ],
        "word 1-2-grams + char_wb 2-5-grams": lambda: [
            word_tfidf(),
            TfidfVectorizer(preprocessor=normalizer, max_features=300_000, **char_wb),
        ],
    }
    train, test = prepared.splits["train"], prepared.splits["test"]
    targets = {"own_test": (test[TEXT].tolist(), test[label].to_numpy())}
    for target, frame in other_sources(args.source).items():
        targets[target] = (frame["text"].tolist(), frame["label"].to_numpy())
    report: dict = {
        "source": Path(args.source).name,
        "config": portable(args.config),
        "c": C,
        "roc_auc": {},
    }
    for name, make in feature_sets.items():
        vectorizers = make()
        features = sparse.hstack([v.fit_transform(train[TEXT].tolist()) for v in vectorizers])
        model = LogisticRegression(C=C, solver="liblinear", max_iter=1000)
        model.fit(features.tocsr(), train[label].to_numpy() >= 0.5)
        report["roc_auc"][name] = {}
        for target, (texts, truth) in targets.items():
            scored = sparse.hstack([v.transform(texts) for v in vectorizers]).tocsr()
            auc = roc_auc_score(truth >= 0.5, model.predict_proba(scored)[:, 1])
            report["roc_auc"][name][target] = round(float(auc), 4)
        print(name, report["roc_auc"][name], flush=True)
    record(f"feature_transfer-{config.dataset.name}", report)


def summarize(report: dict) -> Summary:
    """ROC-AUC of the first label per feature set: own test split and each other source."""
    targets = list(next(iter(report["roc_auc"].values())))
    rows = [(name, *(found[t] for t in targets)) for name, found in report["roc_auc"].items()]
    others = [t for t in targets if t != "own_test"]
    best = {t: max(report["roc_auc"], key=lambda n, t=t: report["roc_auc"][n][t]) for t in others}
    sentence = (
        f"Logistic regression (C {report['c']:g}) trained on {report['source']}: "
        + "; ".join(f"on {t} the best features are {n}" for t, n in best.items())
        + "."
    )
    return Summary(sentence, ("features (TF-IDF + LR)", *targets), rows)


if __name__ == "__main__":
    main()

"""Model behaviour: the training loop learns the synthetic signal and keeps its best epoch."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score

from pyfunc.encoding import TextEncoder
from pyfunc.network import ToxicityNet
from pyfunc.network_config import NetworkConfig
from pyfunc.text import Normalizer
from tests.conftest import tiny_config
from tests.synthetic import LABELS, make_comments
from toxic_mlops.config import DatasetConfig, SplitConfig, TrainingConfig, build_config
from toxic_mlops.data.dataset import clean, split_frame
from toxic_mlops.data.tokenizer import train_tokenizer
from toxic_mlops.model.batches import (
    EncodedSplit,
    encode_split,
    length_batches,
    masked_bce,
    predict_split,
)
from toxic_mlops.model.training import TrainResult, train
from toxic_mlops.model.wide import (
    fit_wide_path,
    log_count_ratios,
    ngram_matrix,
    set_ngram_idf,
)


def test_masked_bce_ignores_unknown_labels() -> None:
    logits = torch.tensor([[0.0, 5.0], [0.0, -5.0]])
    known = torch.tensor([[1.0, 0.3], [0.0, 0.7]])
    masked = torch.tensor([[1.0, float("nan")], [0.0, float("nan")]])
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits[:, :1], known[:, :1])
    torch.testing.assert_close(masked_bce(logits, masked), expected)
    assert masked_bce(logits, torch.full((2, 2), float("nan"))) == 0


def test_length_batches_cover_every_row_once() -> None:
    lengths = np.random.default_rng(0).integers(1, 100, size=1000)
    for rng in (None, np.random.default_rng(1)):
        batches = length_batches(lengths, 64, rng)
        assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
        assert all(len(b) <= 64 for b in batches)
    # Bucketing keeps padding low: a batch's lengths are close together.
    spread = [np.ptp(lengths[b]) for b in length_batches(lengths, 64, np.random.default_rng(2))]
    assert np.median(spread) < 10


def _encoded_synthetic(
    rows: int, seed: int, max_len: int
) -> tuple[TextEncoder, dict[str, EncodedSplit]]:
    """Synthetic comments split, a tokenizer trained on the train split, every split encoded."""
    dataset = DatasetConfig("synthetic", "text", LABELS)
    data, _ = clean(make_comments(rows, seed=seed), dataset, Normalizer())
    splits = split_frame(data, "toxicity", 0.5, SplitConfig(seed=seed))
    tokenizer = train_tokenizer(splits["train"]["text"].tolist(), Normalizer(), 300, 1)
    encoder = TextEncoder(tokenizer, Normalizer(), max_len)
    encoded = {
        name: encode_split(encoder, part["text"].tolist(), part[LABELS].to_numpy())
        for name, part in splits.items()
    }
    return encoder, encoded


@pytest.fixture(scope="module")
def trained(tiny_fitted) -> tuple[TrainResult, TextEncoder, dict]:
    """The tiny config's network, trained once per session by fit() (tests/conftest.py)."""
    fitted, _, epochs = tiny_fitted
    extra = {"encoded": fitted.encoded, "epochs": epochs, "settings": fitted.settings}
    return fitted.result, fitted.encoder, extra


def test_learns_the_signal(trained) -> None:
    result, _, extra = trained
    history = result.history
    # The tiny config is configs/toxic.yaml's: epoch 0 is its fitted wide path.
    assert [r.epoch for r in history] == [r.epoch for r in extra["epochs"]]
    assert [r.epoch for r in history] == list(range(extra["settings"].epochs + 1))
    assert history[-1].train_loss < history[1].train_loss
    assert max(r.val_macro_roc_auc for r in history) > 0.85


def test_keeps_the_best_epoch(trained) -> None:
    result, encoder, extra = trained
    best = max(result.history, key=lambda r: r.val_macro_roc_auc)
    assert result.best_epoch == best.epoch
    loss, _ = predict_split(
        result.network, encoder, extra["encoded"]["val"], 64, torch.device("cpu")
    )
    assert loss == pytest.approx(best.val_loss, rel=1e-4)


def test_learning_rate_decays_each_epoch(trained) -> None:
    result, _, extra = trained
    rates = [r.learning_rate for r in result.history[1:]]  # of the deep network
    decay = extra["settings"].lr_decay
    assert rates == pytest.approx(
        [extra["settings"].learning_rate * decay**i for i in range(len(rates))]
    )


def test_toxic_words_outscore_clean_text(trained) -> None:
    result, encoder, extra = trained
    split = encode_split(
        encoder,
        ["you stupid idiot moron", "thanks the council meeting was great"],
        np.zeros((2, len(LABELS)), dtype=np.float32),
    )
    _, probabilities = predict_split(result.network, encoder, split, 8, torch.device("cpu"))
    scores = pd.DataFrame(probabilities, columns=LABELS)
    assert scores.loc[0, "toxicity"] > scores.loc[1, "toxicity"] + 0.3


def test_fit_lets_the_wide_path_read_further_than_the_lstm(tmp_path) -> None:
    from tests.conftest import synthetic_training_inputs
    from toxic_mlops.model.training import fit

    splits, tokenizer_file = synthetic_training_inputs(tmp_path)
    overrides = {"ngram_max_len": "30", "max_len": "6", "epochs": "1"}
    config = build_config(tiny_config(), overrides)
    fitted = fit(config, splits, tokenizer_file)
    assert fitted.encoder.max_len == 30 and fitted.network_config.deep_max_len == 6
    assert fitted.encoded["train"].lengths.max() > 6
    without_wide = build_config(tiny_config(), {**overrides, "ngram_buckets": "0", "ngram_c": "0"})
    fitted = fit(without_wide, splits, tokenizer_file)
    assert fitted.encoder.max_len == 6 and fitted.network_config.deep_max_len == 0


def _wide_setup(buckets: int = 4096) -> tuple[ToxicityNet, TextEncoder, dict]:
    encoder, encoded = _encoded_synthetic(600, seed=5, max_len=40)
    config = NetworkConfig(
        vocab_size=encoder.tokenizer.get_vocab_size(),
        num_labels=len(LABELS),
        embedding_dim=8,
        hidden_size=8,
        ngram_buckets=buckets,
        ngram_weighting="tfidf",
    )
    return ToxicityNet(config).eval(), encoder, encoded


def test_idf_is_smoothed_document_frequency() -> None:
    network, encoder, _ = _wide_setup()
    split = EncodedSplit.of([[5, 6], [5], [7, 7, 7]], np.zeros((3, len(LABELS))))
    set_ngram_idf(network, encoder, split)
    idf = network.ngram_idf
    # As scikit-learn's smooth IDF: ln((1 + n) / (1 + df)) + 1, counting documents, not tokens.
    assert float(idf[5]) == pytest.approx(np.log(4 / 3) + 1)  # in 2 of 3 texts
    assert float(idf[7]) == pytest.approx(np.log(4 / 2) + 1)  # 3 times, in 1 text
    assert float(idf[8]) == pytest.approx(np.log(4 / 1) + 1)  # never seen


def test_fitted_wide_path_is_the_logistic_regression() -> None:
    """The network's wide logits equal a scikit-learn LR fitted on the same n-gram features."""
    from sklearn.linear_model import LogisticRegression

    network, encoder, encoded = _wide_setup()
    train_split = encoded["train"]
    set_ngram_idf(network, encoder, train_split)
    binary = replace(train_split, targets=(train_split.targets >= 0.5).astype(np.float32))
    fit_wide_path(network, encoder, binary, c=4.0)
    torch.nn.init.zeros_(network.heads.weight)  # silence the deep network: logits = wide + bias
    test = encoded["test"]
    _, probabilities = predict_split(network, encoder, test, 64, torch.device("cpu"))
    features = ngram_matrix(network, encoder, train_split)
    test_features = ngram_matrix(network, encoder, test)
    for label in range(len(LABELS)):
        truth = binary.targets[:, label]
        if truth.min() == truth.max():
            continue
        reference = LogisticRegression(C=4.0, solver="liblinear").fit(features, truth)
        expected = reference.predict_proba(test_features)[:, 1]
        np.testing.assert_allclose(probabilities[:, label], expected, atol=1e-4)


def test_ngram_matrix_rows_are_the_splits_rows_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """Built in chunks of rows of similar length; each row is still its own text's n-grams."""
    from toxic_mlops.model import wide

    monkeypatch.setattr(wide, "WIDE_FIT_CHUNK_ROWS", 50)  # several chunks
    network, encoder, encoded = _wide_setup()
    split = encoded["train"]
    set_ngram_idf(network, encoder, split)
    features = ngram_matrix(network, encoder, split)
    assert features.shape == (len(split), 4096) and features.dtype == np.float32
    for row in range(0, len(split), 37):
        alone = EncodedSplit.of(split.rows([row]), split.targets[row : row + 1])
        # Padded with other rows or alone, the same n-grams; L2 norms summed in another order.
        expected = ngram_matrix(network, encoder, alone).toarray()
        np.testing.assert_allclose(features[row].toarray(), expected, rtol=1e-5, err_msg=str(row))


def test_log_count_ratios_compare_an_ngrams_rates_among_positives_and_negatives() -> None:
    from scipy import sparse

    # Columns: in both positives, in the negative only, in one of each, in no row at all.
    features = sparse.csr_matrix(
        np.array([[0.5, 0, 0.2, 0], [0.1, 0, 0, 0], [0, 0.7, 0.3, 0]], dtype=np.float64)
    )
    ratios = log_count_ratios(features, np.array([1.0, 1.0, 0.0]))
    positive = np.array([2, 0, 1]) + 1.0  # presence counts, not the TF-IDF values, plus 1
    negative = np.array([0, 1, 1]) + 1.0
    expected = np.log(positive / positive.sum()) - np.log(negative / negative.sum())
    np.testing.assert_allclose(ratios, np.append(expected, 0.0))
    # A fractional target counts a row partly positive, partly negative.
    half = log_count_ratios(features, np.array([0.5, 0.5, 0.5]))
    assert half[0] == pytest.approx(np.log((2.0 / 5.5) / (2.0 / 5.5)))


def test_nb_scaled_wide_path_is_nbsvm_with_the_ratios_folded_in() -> None:
    """Logits of the network equal a scikit-learn LR on the features times their NB ratios."""
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    network, encoder, encoded = _wide_setup()
    train_split, test = encoded["train"], encoded["test"]
    set_ngram_idf(network, encoder, train_split)
    binary = replace(train_split, targets=(train_split.targets >= 0.5).astype(np.float32))
    scaled = fit_wide_path(network, encoder, binary, c=4.0, nb_min_rows=1).nb_scaled
    torch.nn.init.zeros_(network.heads.weight)
    _, probabilities = predict_split(network, encoder, test, 64, torch.device("cpu"))
    features = ngram_matrix(network, encoder, train_split)
    test_features = ngram_matrix(network, encoder, test)
    label = LABELS.index("toxicity")
    truth = binary.targets[:, label]
    scaling = sparse.diags(log_count_ratios(features, truth))
    reference = LogisticRegression(C=4.0, solver="liblinear").fit(features @ scaling, truth)
    expected = reference.predict_proba(test_features @ scaling)[:, 1]
    np.testing.assert_allclose(probabilities[:, label], expected, atol=1e-4)
    plain = LogisticRegression(C=4.0, solver="liblinear").fit(features, truth)
    plain_expected = plain.predict_proba(test_features)[:, 1]
    assert np.abs(plain_expected - expected).max() > 0.01
    # A label with fewer rows of its rarer class than nb_min_rows is fitted unscaled.
    rarer = int(min(truth.sum(), (1 - truth).sum()))
    assert label in scaled
    assert (
        label not in fit_wide_path(network, encoder, binary, c=4.0, nb_min_rows=rarer + 1).nb_scaled
    )
    _, probabilities = predict_split(network, encoder, test, 64, torch.device("cpu"))
    np.testing.assert_allclose(probabilities[:, label], plain_expected, atol=1e-4)


@pytest.mark.parametrize("solver", ["liblinear", "lbfgs"])
def test_nb_scaled_fit_leaves_unknown_targets_out_of_the_ratios_and_the_fit(solver: str) -> None:
    """Rows whose label is unknown (NaN) change nothing: as if they were not there."""
    network, encoder, encoded = _wide_setup()
    train_split, test = encoded["train"], encoded["test"]
    set_ngram_idf(network, encoder, train_split)
    label = LABELS.index("toxicity")
    unknown = np.zeros(len(train_split), dtype=bool)
    unknown[::3] = True
    masked = train_split.targets.copy()
    masked[unknown, label] = np.nan
    masked_split = replace(train_split, targets=masked)
    fit_wide_path(network, encoder, masked_split, 4.0, nb_min_rows=1, solver=solver)
    _, with_unknown = predict_split(network, encoder, test, 64, torch.device("cpu"))
    known = EncodedSplit.of(
        train_split.rows(np.flatnonzero(~unknown)), train_split.targets[~unknown]
    )
    fit_wide_path(network, encoder, known, 4.0, nb_min_rows=1, solver=solver)
    _, without = predict_split(network, encoder, test, 64, torch.device("cpu"))
    np.testing.assert_allclose(with_unknown[:, label], without[:, label], atol=1e-4)


@pytest.mark.parametrize("solver", ["liblinear", "lbfgs"])
def test_wide_path_fits_fractional_targets_by_bce(solver: str) -> None:
    """At the optimum, C x X^T (sigmoid(Xw + b) - y) + [w, b] = 0 with y fractional (L-BFGS
    leaves the bias unpenalised: + [w, 0])."""
    network, encoder, encoded = _wide_setup(buckets=257)
    split = encoded["train"]
    set_ngram_idf(network, encoder, split)
    fit_wide_path(network, encoder, split, c=2.0, solver=solver)
    features = ngram_matrix(network, encoder, split).toarray()
    label = LABELS.index("toxicity")
    targets = split.targets[:, label]
    assert ((targets > 0) & (targets < 1)).any()  # the synthetic labels are rater fractions
    w = network.ngrams.weight[:, label].detach().double().numpy()
    b = network.heads.bias[label].item()
    residual = 1 / (1 + np.exp(-(features @ w + b))) - targets
    penalty = np.append(w, b if solver == "liblinear" else 0.0)
    gradient = 2.0 * np.append(features.T @ residual, residual.sum()) + penalty
    assert np.abs(gradient).max() < 0.05 * np.abs(np.append(w, b)).max()


def test_lbfgs_fits_the_regression_liblinear_fits() -> None:
    """Both solvers, NB-scaled, on the same features: the same scores up to the bias penalty
    liblinear adds (and L-BFGS does not); the run says which solver fitted it."""
    import copy

    network, encoder, encoded = _wide_setup()
    train_split, test = encoded["train"], encoded["test"]
    set_ngram_idf(network, encoder, train_split)
    torch.nn.init.zeros_(network.heads.weight)
    scores = {}
    for solver in ("liblinear", "lbfgs"):
        fitted_network = copy.deepcopy(network)
        fitted = fit_wide_path(
            fitted_network, encoder, train_split, 4.0, nb_min_rows=1, solver=solver
        )
        assert fitted.solver == solver and fitted.nb_scaled
        _, scores[solver] = predict_split(fitted_network, encoder, test, 64, torch.device("cpu"))
    np.testing.assert_allclose(scores["lbfgs"], scores["liblinear"], atol=0.03)


def _planted_features(rows: int, per_row: int, buckets: int) -> tuple[object, np.ndarray]:
    """A float32 CSR matrix of random TF-IDF-like rows and targets from a planted linear model."""
    from scipy import sparse

    rng = np.random.default_rng(0)
    columns = rng.integers(0, buckets, rows * per_row).astype(np.int32)
    values = rng.random(rows * per_row, dtype=np.float32)
    pointers = np.arange(0, rows * per_row + 1, per_row)
    features = sparse.csr_matrix((values, columns, pointers), shape=(rows, buckets))
    features.sum_duplicates()
    planted = rng.normal(size=buckets)
    targets = (features @ planted > np.median(features @ planted)).astype(np.float64)
    targets[::7] = np.nan  # some unknown
    return features, targets


def test_lbfgs_fits_folds_without_copying_the_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    """Out-of-fold fits by L-BFGS allocate a small share of the n-gram matrix (folds are masks,
    products run on the float32 values in place); liblinear copies it (float64) to fit."""
    import tracemalloc

    from toxic_mlops.model import wide

    features, targets = _planted_features(rows=20_000, per_row=100, buckets=1 << 12)
    matrix_bytes = features.data.nbytes + features.indices.nbytes
    monkeypatch.setattr(wide, "MARGIN_CHUNK_ENTRIES", features.nnz // 16)
    peaks = {}
    for solver in ("lbfgs", "liblinear"):
        tracemalloc.start()
        logits = wide._out_of_fold_logits(features, targets, 1.0, 3, 0, True, wide.SOLVERS[solver])
        peaks[solver] = tracemalloc.get_traced_memory()[1] / matrix_bytes
        tracemalloc.stop()
        known = ~np.isnan(targets)
        assert roc_auc_score(targets[known], logits[known]) > 0.8, solver  # it learned
    assert peaks["lbfgs"] < 0.3 < 1.0 < peaks["liblinear"], peaks


def test_the_training_loop_fits_the_wide_path_by_the_configured_solver() -> None:
    network, encoder, encoded = _wide_setup()
    settings = TrainingConfig(
        epochs=1, batch_size=32, ngram_c=4.0, ngram_folds=3, ngram_liblinear_max_rows=10
    )
    result = train(network, encoder, encoded["train"], encoded["val"], LABELS, settings, 0.5)
    assert result.wide_solver == "lbfgs"  # auto, above 10 rows
    assert result.history[0].val_macro_roc_auc > 0.85


def test_prefitted_wide_path_is_epoch_zero_and_stays_frozen() -> None:
    network, encoder, encoded = _wide_setup()
    settings = TrainingConfig(epochs=2, batch_size=32, learning_rate=0.01, ngram_c=4.0)
    epochs: list = []
    result = train(
        network, encoder, encoded["train"], encoded["val"], LABELS, settings, 0.5, epochs.append
    )
    assert [r.epoch for r in result.history] == [0, 1, 2] == [r.epoch for r in epochs]
    assert result.history[0].val_macro_roc_auc > 0.85  # the linear model alone already learns
    refit, _, _ = _wide_setup()
    refit.load_state_dict(network.state_dict())
    set_ngram_idf(refit, encoder, encoded["train"])
    fit_wide_path(refit, encoder, encoded["train"], c=4.0)
    # Deep epochs never moved the wide path: it is still exactly the fitted regression.
    torch.testing.assert_close(network.ngrams.weight, refit.ngrams.weight)
    assert result.best.epoch == result.best_epoch


# nb_min_rows 1: NB scaling on every label; its ratios, too, must come from the other folds only.
@pytest.mark.parametrize(
    ("nb_min_rows", "solver"), [(None, "liblinear"), (1, "liblinear"), (1, "lbfgs")]
)
def test_out_of_fold_offsets_score_each_row_by_a_fit_that_never_saw_it(nb_min_rows, solver) -> None:
    network, encoder, encoded = _wide_setup()
    split = encoded["train"]
    set_ngram_idf(network, encoder, split)

    def out_of_fold_logits(targets: np.ndarray) -> tuple[np.ndarray, float]:
        fitted = fit_wide_path(
            network,
            encoder,
            replace(split, targets=targets),
            4.0,
            3,
            0,
            nb_min_rows,
            solver,
        )
        assert fitted.solver == solver
        assert fitted.offsets is not None and fitted.offsets.shape == targets.shape
        bias = network.heads.bias.detach().numpy()
        return fitted.offsets + bias, fitted.train_loss

    logits, in_sample_loss = out_of_fold_logits(split.targets)
    # The rows were not seen by the model scoring them: they fit worse than in the full fit.
    assert float(masked_bce(torch.from_numpy(logits), torch.from_numpy(split.targets))) > (
        in_sample_loss
    )
    flipped = split.targets.copy()
    flipped[0] = 1.0 - flipped[0]
    relabelled, _ = out_of_fold_logits(flipped)
    # Row 0's own label changed nothing in its score (only in the other rows' folds).
    np.testing.assert_allclose(relabelled[0], logits[0], rtol=1e-5)
    assert not np.allclose(relabelled[1:], logits[1:])


def test_deep_epochs_train_against_out_of_fold_offsets() -> None:
    network, encoder, encoded = _wide_setup()
    settings = TrainingConfig(
        epochs=2, batch_size=32, learning_rate=0.01, ngram_c=4.0, ngram_folds=3
    )
    result = train(network, encoder, encoded["train"], encoded["val"], LABELS, settings, 0.5)
    assert [r.epoch for r in result.history] == [0, 1, 2]
    # Against out-of-fold offsets the training loss is that of unseen rows: above epoch 0's
    # in-sample fit, where the deep network would otherwise have almost nothing left to learn.
    assert result.history[1].train_loss > result.history[0].train_loss
    assert result.best.val_macro_roc_auc >= result.history[0].val_macro_roc_auc


def _vectors_file(folder, vocab: dict[str, int], dim: int) -> Path:
    """Random vectors for the vocabulary's words (the word-start pieces), GloVe's text format."""
    rng = np.random.default_rng(0)
    words = sorted({t.removeprefix("▁") for t in vocab if t.startswith("▁") and len(t) > 1})
    path = folder / "vectors.txt"
    rows = (f"{w} " + " ".join(f"{v:.4f}" for v in rng.normal(size=dim)) + "\n" for w in words)
    path.write_text("".join(rows))
    return path


def test_fit_starts_from_pretrained_vectors_and_can_freeze_them(tmp_path) -> None:
    from tests.conftest import synthetic_training_inputs
    from toxic_mlops.config import ConfigError
    from toxic_mlops.data.embeddings import embedding_matrix
    from toxic_mlops.model.training import fit

    splits, tokenizer_file = synthetic_training_inputs(tmp_path)
    vocab = TextEncoder.from_file(tokenizer_file, Normalizer(), 40).tokenizer.get_vocab()
    vectors = _vectors_file(tmp_path, vocab, dim=16)  # tiny_config's embedding_dim
    expected = torch.from_numpy(embedding_matrix(vocab, vectors)[0])
    overrides = {"pretrained_embeddings": str(vectors), "epochs": "1", "ngram_c": "0"}

    frozen = fit(
        build_config(tiny_config(), {**overrides, "freeze_embeddings": "true"}),
        splits,
        tokenizer_file,
    )
    torch.testing.assert_close(frozen.result.network.embedding.weight.detach(), expected)
    trained = fit(build_config(tiny_config(), overrides), splits, tokenizer_file)
    moved = trained.result.network.embedding.weight.detach() - expected
    # Trained from those vectors: moved, but by less than the vectors' own size.
    assert moved.abs().sum() > 0 and moved.norm() < 0.5 * expected.norm()
    with pytest.raises(ConfigError, match="model.embedding_dim: 16"):
        narrow = build_config(tiny_config(), {**overrides, "embedding_dim": "8"})
        fit(narrow, splits, tokenizer_file)


@pytest.mark.parametrize("mitigation", ["none", "blind"])
def test_the_char_ngram_table_drops_identity_stems_only_under_blind(
    tmp_path: Path, mitigation: str
) -> None:
    from tests.conftest import synthetic_training_inputs
    from toxic_mlops.evaluation.identity import flat_terms
    from toxic_mlops.model.training import fit
    from toxic_mlops.model.wide import char_ngram_table, identity_char_ngrams

    raw = tiny_config()
    raw["training"].update(bias_mitigation=mitigation, epochs=1)
    config = build_config(raw)
    splits, tokenizer_file = synthetic_training_inputs(tmp_path)
    fitted = fit(config, splits, tokenizer_file)
    tokenizer = fitted.encoder.tokenizer
    pieces = [tokenizer.id_to_token(i) for i in range(tokenizer.get_vocab_size())]
    pieces = ["" if p in ("[PAD]", "[UNK]") else p for p in pieces]
    max_n, buckets = config.model.char_ngram_max, config.model.ngram_buckets
    stems = identity_char_ngrams(flat_terms(config.bias.identity_terms), max_n)
    blind = char_ngram_table(pieces, max_n, buckets, stems)
    full = char_ngram_table(pieces, max_n, buckets)
    assert not np.array_equal(blind, full)  # the synthetic vocabulary has identity words
    table = fitted.result.network.token_char_ngrams.numpy()
    np.testing.assert_array_equal(table, blind if mitigation == "blind" else full)


def test_padded_chunks_hold_every_row_once_within_both_budgets() -> None:
    from toxic_mlops.model.batches import padded_chunks

    encoder, encoded = _encoded_synthetic(300, seed=3, max_len=40)
    split = encoded["train"]
    chunks = list(padded_chunks(encoder, split, max_rows=64, max_tokens=600))
    rows = np.concatenate([rows for rows, _, _ in chunks])
    assert sorted(rows.tolist()) == list(range(len(split)))
    longest = [int(split.lengths[rows].max()) for rows, _, _ in chunks]
    assert longest == sorted(longest, reverse=True)  # longest first
    for (rows, token_ids, _), width in zip(chunks, longest, strict=True):
        assert token_ids.shape == (len(rows), width)
        assert len(rows) <= 64 and (len(rows) == 1 or len(rows) * width <= 600)
    assert len(chunks) > len(split) / 64  # the token budget cut some chunks short

"""The model card from facts, and the evaluate step's figures it is written from."""

from copy import deepcopy
from dataclasses import replace

import numpy as np
import pytest

from pyfunc.text import Normalizer
from tests.conftest import synthetic_training_inputs, tiny_config
from tests.synthetic import LABELS
from toxic_mlops.config import Config, build_config
from toxic_mlops.contract import NB_SCALED_LABELS_PARAM, WIDE_SOLVER_PARAM
from toxic_mlops.data.dataset import TEXT
from toxic_mlops.evaluation.baseline import TfidfBaseline
from toxic_mlops.evaluation.evaluate import (
    BASELINE,
    MODEL,
    PRODUCTION,
    against_production,
    card,
    evaluate,
    memory_sample,
)
from toxic_mlops.evaluation.model_card import (
    TOO_FEW,
    DataFacts,
    MeasuredFacts,
    ModelFacts,
    WinFacts,
    describe_model,
    model_card,
)

WIKI = "English Wikipedia talk-page comments (Jigsaw 2018)"


def jigsaw_like() -> Config:
    """The shipped Jigsaw settings: LSTM 100 tokens, wide path 1,024, fitted first (C = 30, NB)."""
    raw = tiny_config()
    raw["dataset"]["description"] = WIKI
    raw["model"].update(ngram_buckets=1_048_576, ngram_max_len=1024, ngram_weighting="tfidf")
    raw["training"].update(max_len=100, epochs=4, ngram_c=30)
    return build_config(raw)


def facts(config: Config, best_epoch: float | None) -> ModelFacts:
    """As the evaluate step reads them: the train run's params (strings) and metrics."""
    params = {key: str(value) for key, value in config.params().items()}
    return ModelFacts.from_run(params, {} if best_epoch is None else {"best_epoch": best_epoch})


def figures(positives: dict[str, int]) -> dict[str, float]:
    """Test figures of the kind label_metrics + label_intervals return."""
    result: dict[str, float] = {}
    for label in [*LABELS, "macro"]:
        for metric in ("roc_auc", "pr_auc", "f1"):
            key = f"macro_{metric}" if label == "macro" else f"{metric}_{label}"
            result |= {key: 0.9, f"{key}_ci_low": 0.85, f"{key}_ci_high": 0.95}
        result |= {f"positives_{label}": positives.get(label, 100), f"negatives_{label}": 900}
    return result


def write(config: Config, best_epoch: float | None, positives: dict[str, int] | None = None):
    data = DataFacts.from_config(
        config, ["data/jigsaw_wiki_sample.csv.gz"], {"train": 800, "val": 100, "test": 100}
    )
    test = figures(positives or {})
    cost = {"model": {"latency_p50_ms": 2.0, "comments_per_s": 900.0}}
    measured = MeasuredFacts(test, test, TfidfBaseline(Normalizer()).description, cost, 64)
    wins = WinFacts(["toxicity", "obscene"], {"the TF-IDF baseline": 0.33})
    return model_card(data, facts(config, best_epoch), measured, config.evaluation, wins)


def test_epoch_0_kept_says_the_wide_path_alone_and_what_it_reads() -> None:
    text = write(jigsaw_like(), 0)
    model_line = next(line for line in text.splitlines() if line.startswith("**Model**"))
    assert model_line.startswith("**Model**: epoch 0 was kept: a wide path")
    assert "the deep network did not improve validation" in model_line
    assert "plus" not in model_line  # never "BiLSTM + wide path" when the BiLSTM did not count
    assert (
        "1,048,576 hashed token n-grams and their character 2-5-grams, fitted first by logistic "
        "regression on Naive-Bayes-scaled features" in text
    )
    assert "the wide path the first 1024" in text
    assert "read up to its first 1024 sub-word tokens" in text  # the limit that applies


def test_without_char_ngrams_the_card_says_token_ngrams_only() -> None:
    config = jigsaw_like()
    config = replace(config, model=replace(config.model, char_ngram_max=0))
    model_line = next(
        line for line in write(config, 0).splitlines() if line.startswith("**Model**")
    )
    assert "hashed token n-grams, fitted first" in model_line and "character" not in model_line


def test_nb_scaling_is_named_only_when_it_was_used() -> None:
    config = jigsaw_like()
    plain = replace(config, training=replace(config.training, ngram_nb=False))
    assert "Naive-Bayes" not in write(plain, 0)
    assert "fitted first by logistic regression with C = 30" in write(plain, 0)
    scaled = replace(config, training=replace(config.training, ngram_nb=True))
    assert (
        "fitted first by logistic regression on Naive-Bayes-scaled features (NBSVM; for the "
        "labels with at least 500 training rows of each class) with C = 30" in write(scaled, 0)
    )
    # Trained jointly by Adam (ngram_c 0), there is no regression to scale: not claimed.
    joint = replace(scaled, training=replace(scaled.training, ngram_c=0.0))
    assert "Naive-Bayes" not in write(joint, 0)


def test_the_card_says_when_the_wide_path_was_fitted_by_lbfgs() -> None:
    params = {key: str(value) for key, value in jigsaw_like().params().items()}

    def described(solver: str) -> str:
        facts = ModelFacts.from_run({**params, WIDE_SOLVER_PARAM: solver}, {"best_epoch": 0})
        return "\n".join(describe_model(facts))

    assert "with C = 30 by L-BFGS, then frozen" in described("lbfgs")
    assert "with C = 30, then frozen" in described("liblinear")  # the TF-IDF baseline's solver


def test_the_card_names_the_labels_nb_scaling_reached() -> None:
    """The train run records which labels were NB-scaled; the card says those, or none."""
    params = {key: str(value) for key, value in jigsaw_like().params().items()}

    def described(scaled: str) -> str:
        facts = ModelFacts.from_run({**params, NB_SCALED_LABELS_PARAM: scaled}, {"best_epoch": 0})
        return "\n".join(describe_model(facts))

    assert (
        "on Naive-Bayes-scaled features for toxicity, insult (NBSVM; the labels with at least "
        "500 training rows of each class)" in described("toxicity,insult")
    )
    nothing = described("")
    assert "no label had at least 500 training rows of each class, so none was scaled" in nothing
    assert "on Naive-Bayes-scaled features" not in nothing


def test_a_deep_epoch_kept_says_both_paths_and_their_lengths() -> None:
    text = write(jigsaw_like(), 3)
    assert "a 2-layer BiLSTM (embeddings 16, hidden size 16) plus a wide path" in text
    assert "epoch 3 of 4 trained" in text
    assert (
        "The BiLSTM reads the first 100 sub-word tokens of a text, the wide path the first "
        "1024" in text
    )
    assert "read up to its first 100 sub-word tokens by the BiLSTM (1024 by the wide path)" in text


def test_no_wide_path_and_no_recorded_epoch() -> None:
    raw = tiny_config()
    raw["model"]["ngram_buckets"] = 0
    raw["training"]["ngram_c"] = 0
    config = build_config(raw)
    text = write(config, None)
    assert "**Model**: a 2-layer BiLSTM" in text and "wide path" not in text
    assert "the epoch kept was not recorded" in text
    assert "reads the first 40 sub-word tokens" in text


def test_the_data_is_described_from_the_config_and_the_sources_read() -> None:
    text = write(jigsaw_like(), 0)
    assert f"`civil_comments`, {WIKI}; read from `data/jigsaw_wiki_sample.csv.gz`" in text
    assert "news-site" not in text
    assert f"Trained and tested on {WIKI} only" in text
    assert "Train / val / test rows: 800 / 100 / 100" in text
    assert (
        "Unicode NFKC, HTML tags stripped, invisible characters dropped, look-alike letters "
        "folded, decorated letter forms folded, URLs replaced by one token, lower-cased, "
        "spaced-out letters joined, leetspeak read as letters, runs of a character cut to 3" in text
    )


def test_support_intervals_and_labels_too_scarce_to_rank() -> None:
    text = write(jigsaw_like(), 0, positives={"threat": 7})
    assert f"| threat | 7 / 900 ({TOO_FEW}) | 0.9000 (0.850-0.950) |" in text
    assert "| toxicity | 100 / 900 | 0.9000 (0.850-0.950) |" in text
    assert "- threat: too few positives in the test split to rank" in text
    assert "95% percentile bootstrap interval over the test rows (1,000 resamples)" in text


def test_the_gate_evidence_names_its_labels_and_probabilities() -> None:
    text = write(jigsaw_like(), 0)
    assert "Paired bootstrap over the 100 validation rows" in text
    assert "macro ROC-AUC over toxicity, obscene is higher" in text
    assert "- than the TF-IDF baseline: 0.33" in text


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """evaluate() with the TF-IDF baseline itself as the model: the same scorer twice."""
    splits, _ = synthetic_training_inputs(tmp_path_factory.mktemp("splits"))
    config = build_config(tiny_config())
    config = replace(config, evaluation=replace(config.evaluation, bootstrap_resamples=200))
    model = TfidfBaseline(Normalizer()).fit(
        splits["train"][TEXT].tolist(), splits["train"][LABELS].to_numpy(), 0.5
    )
    return evaluate(splits, model.predict_proba, config), splits, config, model


def test_evaluate_logs_support_and_intervals_for_model_and_baseline(evaluated) -> None:
    result, splits, config, _ = evaluated
    metrics = result.metrics
    for prefix in ("", "baseline_"):
        for label in LABELS:
            auc = metrics[f"{prefix}test_roc_auc_{label}"]
            low, high = (metrics[f"{prefix}test_roc_auc_{label}_ci_{e}"] for e in ("low", "high"))
            assert low <= auc <= high, label
            truth = splits["test"][label].to_numpy() >= 0.5
            assert metrics[f"{prefix}test_positives_{label}"] == truth.sum()
            assert metrics[f"{prefix}test_negatives_{label}"] == (~truth).sum()
        assert metrics[f"{prefix}test_macro_f1_ci_low"] <= metrics[f"{prefix}test_macro_f1"]
        ci = [metrics[f"{prefix}test_pr_auc_toxicity_ci_{end}"] for end in ("low", "high")]
        assert ci[0] < ci[1]  # the synthetic data separates some labels perfectly, not this one
    # The model is the baseline: every paired resample ties.
    assert metrics["p_better_than_baseline"] == 0.5
    text = card(result, splits, config, facts(config, 2), ["hf://x"])
    assert "| toxicity |" in text and "(" in text.split("| toxicity |")[1].splitlines()[0]


def test_against_production_pairs_it_on_the_candidate_split(evaluated) -> None:
    result, splits, config, model = evaluated

    def constant(texts: list[str]) -> np.ndarray:
        return np.full((len(texts), len(LABELS)), 0.5)

    figures = against_production(result, constant, splits, config)
    # A scorer that ranks nothing loses every resample.
    assert figures == {"production_val_macro_roc_auc": 0.5, "p_better_than_production": 1.0}
    assert result.metrics["p_better_than_production"] == 1.0
    figures = against_production(result, model.predict_proba, splits, config)
    assert figures["production_val_macro_roc_auc"] == result.metrics["val_macro_roc_auc"]
    assert figures["p_better_than_production"] == 0.5
    text = card(result, splits, config, facts(config, 2), ["hf://x"], "toxic/3")
    assert "- than Production (toxic/3): 0.50" in text
    assert MODEL in result.scores and BASELINE in result.scores


def test_the_card_states_the_baseline_and_cost_batch_it_is_given() -> None:
    text = write(jigsaw_like(), 0)
    baseline = TfidfBaseline(Normalizer(), max_features=1000, c=2.0)
    assert "**Baseline**: TF-IDF word 1-2 grams (up to 200,000 features" in text
    assert "logistic regression per label (C = 2)" in baseline.description
    assert "| p50 latency, 1 comment | comments/s, batches of 64 |" in text


def test_the_card_has_one_row_per_attack_family_beside_clean_text() -> None:
    config = jigsaw_like()
    data = DataFacts.from_config(config, ["x.csv"], {"train": 800, "val": 100, "test": 100})
    test = figures({})
    evasion = {
        "model": {"clean_auc": 0.97, "clean_flagged": 0.8, "clean_fp": 0.02}
        | {"swap_auc": 0.91, "swap_flagged": 0.6, "swap_retained": 0.75, "swap_fp": 0.03},
        "TF-IDF + LR": {"clean_auc": 0.95, "swap_auc": 0.7},
    }
    measured = MeasuredFacts(test, test, "b", {}, 64, evasion=evasion, evasion_support=(120, 2000))
    wins = WinFacts(["toxicity"], {"the TF-IDF baseline": 0.9})
    text = model_card(data, facts(config, 1), measured, config.evaluation, wins)
    assert "120 toxic test comments" in text and "against 2,000 clean ones" in text
    assert "| clean | 0.970 | 80% | 2% | 0.950 |" in text
    assert "| swap | 0.910 | 60% | 3% | 0.700 |" in text
    no_evasion = model_card(
        data, facts(config, 1), MeasuredFacts(test, test, "b", {}, 64), config.evaluation, wins
    )
    assert "Disguised words" not in no_evasion


def test_the_cost_section_shows_speed_and_peak_memory_from_the_facts_given() -> None:
    config = jigsaw_like()
    data = DataFacts.from_config(config, ["x.csv"], {"train": 800, "val": 100, "test": 100})
    test = figures({})
    cost = {
        MODEL: {"latency_p50_ms": 2.0, "comments_per_s": 900.0},
        BASELINE: {"latency_p50_ms": 0.5, "comments_per_s": 5000.0},
    }
    memory = {
        MODEL: {"load_rss_mb": 471.2, "peak_rss_mb": 489.6},
        "Production (toxic/3)": {"load_rss_mb": 455.0, "peak_rss_mb": 1234.4},
    }
    measured = MeasuredFacts(test, test, "b", cost, 256, memory=memory, memory_rows=1000)
    wins = WinFacts(["toxicity"], {"the TF-IDF baseline": 0.9})
    text = model_card(data, facts(config, 1), measured, config.evaluation, wins)
    assert (
        "| | p50 latency, 1 comment | comments/s, batches of 256 | peak memory, loaded / + "
        "1,000 comments |" in text
    )
    assert "| model | 2.0 ms | 900 | 471 MB / 490 MB |" in text
    assert "| TF-IDF + LR | 0.5 ms | 5,000 | not measured |" in text
    assert (
        "| Production (toxic/3) | not measured here | not measured here | 455 MB / 1,234 MB |"
        in (text)
    )
    assert "scores 1,000 test comments in one call" in text
    assert "TF-IDF + LR: no logged model, not measured." in text
    # Without memory figures (evaluate() alone, no MLflow), the speed table as before.
    plain = write(config, 1)
    assert "| model | 2.0 ms | 900 |" in plain and "peak memory" not in plain


def test_evaluate_keeps_the_memory_measured_outside_for_the_card(evaluated) -> None:
    _, splits, config, model = evaluated
    result = deepcopy(evaluated[0])  # the module's fixture is shared
    against_production(result, model.predict_proba, splits, config)  # Production was scored
    sample = memory_sample(splits)
    assert len(sample) == 1000 and set(sample) <= set(splits["test"][TEXT])
    assert sample[: len(splits["test"])] == splits["test"][TEXT].tolist()
    logged = result.add_memory(MODEL, {"load_rss_mb": 400.0, "peak_rss_mb": 420.0})
    assert logged == {"load_rss_mb": 400.0, "peak_rss_mb": 420.0}
    logged = result.add_memory(PRODUCTION, {"load_rss_mb": 380.0, "peak_rss_mb": 399.0})
    assert logged == {"production_load_rss_mb": 380.0, "production_peak_rss_mb": 399.0}
    assert result.metrics["peak_rss_mb"] == 420.0
    assert result.metrics["production_peak_rss_mb"] == 399.0
    assert result.summary().endswith("peak memory 420 MB")
    text = card(result, splits, config, facts(config, 2), ["hf://x"], "toxic/3")
    assert "| model |" in text and "| 400 MB / 420 MB |" in text
    assert "| Production (toxic/3) | not measured here | not measured here | 380 MB / 399 MB |" in (
        text
    )

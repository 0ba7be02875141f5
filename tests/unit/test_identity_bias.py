"""Identity bias without identity columns: term detection, the template probe, term metrics,
the bias gate rule, the training-row mitigations and the `bias` config section."""

import numpy as np
import pandas as pd
import pytest

from pyfunc.text import Normalizer
from tests.conftest import tiny_config
from toxic_mlops.config import (
    DEFAULT_IDENTITY_TERMS,
    BiasConfig,
    ConfigError,
    GatePolicy,
    build_config,
    override,
)
from toxic_mlops.evaluation.bias import (
    bias_card_section,
    identity_bias,
    term_bias,
)
from toxic_mlops.evaluation.gate import Figures, bias_gate_checks, decide_promotion
from toxic_mlops.evaluation.identity import TermMatcher, flat_terms, identity_mentions
from toxic_mlops.evaluation.probe import (
    NON_TOXIC_TEMPLATES,
    TOXIC_TEMPLATES,
    probe_sentences,
    run_probe,
)
from toxic_mlops.model.mitigation import (
    balanced_copies,
    counterfactual_copies,
    mitigated,
    rewritten,
)

TERMS = ["black", "gay", "muslim", "african", "african american", "middle aged"]
GROUPS = {"race": ["black", "white", "asian"], "religion": ["muslim", "christian"]}
# A word of every toxic template, none of a non-toxic one.
INSULTS = (
    "idiot disgusting hate scum die trash moron stupid kill worthless filthy dumb loser freak "
    "liar ignorant lazy garbage disease beaten jerk bastards worst parasites despise thugs vile "
    "banned pig"
).split()


def found(text: str, terms: list[str] = TERMS) -> list[str]:
    row = identity_mentions([text], terms, Normalizer()).iloc[0]
    return sorted(row.index[row.to_numpy()])


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("Write it on the blackboard", []),  # a word inside another word is not a mention
        ("Blacklisted, blackened", []),
        ("BLACK and Gay", ["black", "gay"]),  # case
        ("Muslims and gays", ["gay", "muslim"]),  # plural
        ("muslimah", []),
        ("an anti-gay law", ["gay"]),
        ("African-American voters", ["african american"]),  # the longer term, once
        ("african  american", ["african american"]),
        ("An African voter", ["african"]),
        ("<b>gay</b>", ["gay"]),  # read as the model reads it: the normaliser strips the tag
        ("middle aged, muslim.", ["middle aged", "muslim"]),
        ("", []),
    ],
)
def test_identity_terms_are_whole_words_plural_or_not(text: str, terms: list[str]) -> None:
    assert found(text) == terms


def test_no_terms_find_nothing() -> None:
    assert not identity_mentions(["gay muslim", ""], [], Normalizer()).to_numpy().any()
    assert identity_mentions(["gay muslim", ""], [], Normalizer()).shape == (2, 0)


def test_replacing_a_term_keeps_its_plural_and_can_delete_it() -> None:
    matcher = TermMatcher(["gay", "muslim", "christian"], Normalizer())
    assert matcher.replace("Muslims are here", {1: "christian"}) == "christians are here"
    assert matcher.replace("Muslims are gay", {1: "", 0: "christian"}) == " are christian"


def test_probe_is_deterministic_balanced_and_names_every_term() -> None:
    first, second = probe_sentences(["gay", "asian"]), probe_sentences(["gay", "asian"])
    pd.testing.assert_frame_equal(first, second)
    assert len(NON_TOXIC_TEMPLATES) == len(TOXIC_TEMPLATES) >= 24
    counts = first.groupby(["term", "toxic"]).size()
    assert set(counts) == {len(TOXIC_TEMPLATES)}  # every term, toxic or not, equally often
    assert len(first) == 2 * 2 * len(TOXIC_TEMPLATES)
    assert first.text.is_unique
    mentions = identity_mentions(first.text.tolist(), ["gay", "asian"], Normalizer())
    assert (mentions.sum(axis=1) == 1).all()
    assert (mentions.to_numpy().argmax(axis=1) == (first.term == "asian").to_numpy()).all()
    assert "I am an asian person" in set(first.text) and "I am a gay person" in set(first.text)


def fair_scorer(texts: list[str]) -> np.ndarray:
    """Toxic when an insult is there, whoever the sentence names."""
    scores = [0.9 if any(w in t.lower() for w in INSULTS) else 0.1 for t in texts]
    return np.array(scores)[:, None]


def biased_scorer(texts: list[str]) -> np.ndarray:
    """The same, plus 0.85 for any sentence that says "gay"."""
    return np.clip(
        fair_scorer(texts) + 0.85 * np.array([["gay" in t.lower()] for t in texts]), 0, 1
    )


def test_probe_exposes_a_scorer_that_flags_a_term() -> None:
    groups = {"orientation": ["gay", "straight"], "religion": ["muslim"]}
    fair, biased = (run_probe(s, groups, 0.5) for s in (fair_scorer, biased_scorer))
    assert fair.max_term_fpr == 0.0 and fair.roc_auc == 1.0
    assert biased.roc_auc < fair.roc_auc
    per_term = biased.per_term.set_index("term")
    assert per_term.loc["gay", "fpr"] == 1.0 and per_term.loc["straight", "fpr"] == 0.0
    assert biased.max_term_fpr == 1.0 and biased.mean_term_fpr == pytest.approx(1 / 3)
    assert per_term.loc["gay", "group"] == "orientation"
    assert set(biased.metrics()) == {"probe_roc_auc", "probe_max_term_fpr", "probe_mean_term_fpr"}


def test_term_bias_scores_only_terms_with_enough_support() -> None:
    rng = np.random.default_rng(0)
    truth = rng.random(400) < 0.3
    gay = rng.random(400) < 0.2
    rare = np.zeros(400, dtype=bool)
    rare[:3] = True
    mentions = pd.DataFrame({"gay": gay, "rare": rare})
    fair = truth + rng.normal(0, 0.5, 400)
    biased = fair + 1.5 * gay  # mentions score higher, toxic or not
    fair_bias = term_bias(mentions, truth, fair, min_mentions=10, min_positives=2)
    biased_bias = term_bias(mentions, truth, biased, min_mentions=10, min_positives=2)
    assert fair_bias.per_term.set_index("identity")["scored"].to_dict() == {
        "gay": True,
        "rare": False,
    }
    table = biased_bias.per_term.set_index("identity")
    assert (
        table.loc["gay", "bpsn_auc"]
        < fair_bias.per_term.set_index("identity").loc["gay", "bpsn_auc"]
    )
    assert table.loc["gay", "positives"] == (gay & truth).sum()
    assert biased_bias.final_score < fair_bias.final_score
    assert biased_bias.metrics()["bias_terms_scored"] == 1


def test_identity_bias_reads_known_labels_only_and_feeds_the_card() -> None:
    texts = ["you gay idiot", "gay pride parade", "nice day", "you idiot", "muslim idiot", "hi"]
    targets = np.array([1.0, 0.0, np.nan, 1.0, 1.0, 0.0])
    settings = BiasConfig(identity_terms={"o": ["gay"], "r": ["muslim"]}, min_mentions=1)
    scores = biased_scorer(texts)[:, 0]
    result = identity_bias(texts, targets, scores, biased_scorer, 0.5, settings, Normalizer(), 0.5)
    assert result.term.per_term.set_index("identity").loc["gay", "size"] == 2  # NaN row left out
    lines = bias_card_section({"model": result, "TF-IDF + LR": result}, "toxicity")
    text = "\n".join(lines)
    assert "| model | " in text and "| TF-IDF + LR | " in text
    assert f"{2 * (len(TOXIC_TEMPLATES) + len(NON_TOXIC_TEMPLATES))} sentences" in text
    assert "gay 1.00" in text
    assert bias_card_section({}, "toxicity") == []


@pytest.mark.parametrize(
    ("gate", "metrics", "production", "passes"),
    [
        ("none", {"probe_roc_auc": 0.5, "baseline_probe_roc_auc": 0.9}, None, True),
        ("baseline", {"probe_roc_auc": 0.91, "baseline_probe_roc_auc": 0.9}, None, True),
        ("baseline", {"probe_roc_auc": 0.89, "baseline_probe_roc_auc": 0.9}, None, False),
        ("production", {"probe_roc_auc": 0.91, "baseline_probe_roc_auc": 0.9}, 0.95, False),
        ("production", {"probe_roc_auc": 0.91, "baseline_probe_roc_auc": 0.9}, 0.9, True),
        ("baseline", {"baseline_probe_roc_auc": 0.9}, None, False),  # not measured: refused
    ],
)
def test_bias_gate_rule(gate: str, metrics: dict, production: float | None, passes: bool) -> None:
    checks = bias_gate_checks(metrics, production, BiasConfig(gate=gate))
    decision = decide_promotion(Figures(0.95, 0.9, 100), None, GatePolicy(), checks)
    assert decision.promote is passes
    if gate != "none":
        assert "bias probe_roc_auc" in decision.reason


def test_bias_gate_on_a_false_positive_rate_wants_it_lower() -> None:
    settings = BiasConfig(gate="baseline", gate_metric="probe_max_term_fpr")
    metrics = {"probe_max_term_fpr": 0.2, "baseline_probe_max_term_fpr": 0.3}
    assert bias_gate_checks(metrics, None, settings)[0][0]
    assert not bias_gate_checks({**metrics, "probe_max_term_fpr": 0.4}, None, settings)[0][0]


FRAME = pd.DataFrame(
    {
        "text": ["Black people here", "Muslims, all of them", "nice day", "black idiot", "hi"],
        "y": [0.0, 1.0, 0.0, 1.0, np.nan],
    }
)


def test_counterfactual_copies_swap_terms_within_their_group() -> None:
    copies = counterfactual_copies(FRAME, "text", GROUPS, Normalizer(), seed=1)
    assert copies.index.tolist() == [0, 1, 3]  # only rows that mention a term
    assert copies["y"].tolist() == [0.0, 1.0, 1.0]  # labels unchanged
    mentions = identity_mentions(copies.text.tolist(), flat_terms(GROUPS), Normalizer())
    assert not mentions["black"].any() and not mentions["muslim"].any()
    assert mentions[["white", "asian"]].to_numpy().sum(axis=1).tolist() == [1, 0, 1]
    assert copies.text.iloc[1] == "christians, all of them"
    again = counterfactual_copies(FRAME, "text", GROUPS, Normalizer(), seed=1)
    pd.testing.assert_frame_equal(copies, again)


def test_rewritten_rows_spread_or_drop_the_terms() -> None:
    blind = rewritten(FRAME, "text", GROUPS, Normalizer(), seed=0, blind=True)
    assert blind.text.tolist()[:4] == [" people here", ", all of them", "nice day", " idiot"]
    assert blind.text.iloc[4] == "hi"  # rows without a term keep their raw text
    big = pd.DataFrame({"text": ["black idiot"] * 200, "y": 1.0})
    spread = rewritten(big, "text", GROUPS, Normalizer(), seed=0, blind=False)
    drawn = identity_mentions(spread.text.tolist(), flat_terms(GROUPS), Normalizer()).sum()
    assert (drawn > 20).all()  # every term of every group, roughly uniformly
    assert len(spread) == len(big) and (spread["y"] == 1.0).all()


@pytest.mark.parametrize(("clean_rows", "copies"), [(2, 2), (10, 4)])
def test_balanced_copies_repeat_non_toxic_mentions_of_a_toxic_looking_term(
    clean_rows: int, copies: int
) -> None:
    # "black": 3 toxic, 1 not (odds 3); overall odds 4 / (2 + clean_rows): the odds ratio is 3
    # (2 extra copies) with 2 clean rows, 9 with 10 (capped at MAX_BALANCE_COPIES = 4).
    frame = pd.DataFrame(
        {
            "text": ["black idiot"] * 3 + ["black people", "idiot", "hello"] + ["hi"] * clean_rows,
            "y": [1.0] * 3 + [0.0, 1.0, 0.0] + [0.0] * clean_rows,
        }
    )
    extra = balanced_copies(frame, "text", "y", GROUPS, Normalizer(), 0.5)
    assert extra.text.tolist() == ["black people"] * copies
    assert (extra["y"] == 0).all()


def test_mitigation_follows_the_training_config() -> None:
    config = build_config(tiny_config())
    train = FRAME.rename(columns={"y": "toxicity"})
    assert mitigated(train, config) is train  # tiny_config: none
    swapped = mitigated(train, override(config, {"bias_mitigation": "swap"}))
    assert len(swapped) == len(train) + 3
    blind = mitigated(train, override(config, {"bias_mitigation": "blind"}))
    assert len(blind) == len(train) and "black" not in " ".join(blind.text)


def test_bias_section_is_parsed_and_checked() -> None:
    raw = tiny_config()
    assert build_config(raw).bias.identity_terms == DEFAULT_IDENTITY_TERMS
    raw["bias"] = {"identity_terms": {"religion": ["muslim"]}, "gate": "baseline"}
    config = build_config(raw)
    assert config.bias.identity_terms == {"religion": ["muslim"]} and config.bias.gate == "baseline"
    raw["bias"] = {"identity_terms": {"religion": "muslim"}, "gate": "sometimes", "min_mentions": 0}
    with pytest.raises(ConfigError) as error:
        build_config(raw)
    for part in ("bias.gate must be one of", "list of terms", "min_mentions"):
        assert part in str(error.value)
    with pytest.raises(ConfigError, match="bias_mitigation must be one of"):
        override(build_config(tiny_config()), {"bias_mitigation": "magic"})


def test_evaluate_reports_identity_bias_of_model_and_baseline(comments) -> None:
    from toxic_mlops.config import SplitConfig
    from toxic_mlops.contract import BIAS_PROBE_ARTIFACT, BIAS_TERMS_ARTIFACT
    from toxic_mlops.data.dataset import TEXT, clean, split_frame
    from toxic_mlops.evaluation.evaluate import card, evaluate
    from toxic_mlops.evaluation.model_card import ModelFacts

    config = build_config(tiny_config())
    data, _ = clean(comments, config.dataset, Normalizer())
    splits = split_frame(data, "toxicity", 0.5, SplitConfig(0.2, 0.2, seed=0))
    result = evaluate(splits, biased_scorer_all_labels, config)
    for prefix in ("", "baseline_"):
        assert 0 <= result.metrics[f"{prefix}probe_roc_auc"] <= 1
        assert 0 <= result.metrics[f"{prefix}probe_max_term_fpr"] <= 1
        assert f"{prefix}bias_term_final_score" in result.metrics
    # flagged at the threshold tuned on validation: the scorer's "gay" sentences all are
    probe = result.identity_bias["model"].probe
    assert probe.threshold == result.test["model"]["threshold_toxicity"]
    assert probe.per_term.set_index("term").loc["gay", "fpr"] == 1.0
    assert result.metrics["probe_max_term_fpr"] == 1.0
    terms = result.bias_tables[BIAS_TERMS_ARTIFACT.format(prefix="model_")]
    assert terms.set_index("identity").loc["muslim", "size"] > 0
    assert BIAS_PROBE_ARTIFACT.format(prefix="baseline_") in result.bias_tables
    params = {key: str(value) for key, value in config.params().items()}
    facts = ModelFacts.from_run(params, {"best_epoch": 1})
    text = card(result, splits, config, facts, ["data.csv"])
    assert "## Identity bias" in text and "not measured on this card" not in text
    assert len(splits["test"][TEXT]) == len(result.scores["model"]["test"])


def biased_scorer_all_labels(texts: list[str]) -> np.ndarray:
    """biased_scorer's column for each of the six synthetic labels."""
    return np.repeat(biased_scorer(texts), 6, axis=1)

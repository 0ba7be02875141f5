"""The span tagger trained on a small generated span file, served from a local HTTP server."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pyfunc.scoring import ModelSpec
from pyfunc.text import Normalizer
from tests.conftest import tiny_config
from tests.synthetic import LABELS, span_file
from toxic_mlops.config import SpansConfig, build_config
from toxic_mlops.data.download import ChecksumError, file_sha256
from toxic_mlops.model.assessment import TrainedModel
from toxic_mlops.spans.metrics import load_span_posts
from toxic_mlops.spans.training import fit_spans, label_post, with_spans


def test_token_labels_follow_the_marked_characters(tiny_model) -> None:
    scorer = tiny_model[0]
    text = "the idiot, the plan"
    labelled = label_post(scorer.encoder, _post(text, 4, 9), max_len=20)
    words = {text[w.start : w.end]: labelled.labels[list(w.tokens)] for w in labelled.read.words}
    assert set(words) == {"the", "idiot", "plan"}
    assert (words["idiot"] == 1).all() and (words["plan"] == 0).all()
    in_words = {p for w in labelled.read.words for p in w.tokens}
    outside = [p for p in range(len(labelled.read.ids)) if p not in in_words]
    assert outside and (labelled.labels[outside] == -1).all()  # the comma: no word, no loss


def _post(text: str, start: int, end: int):
    from toxic_mlops.spans.metrics import SpanPost

    return SpanPost(text, frozenset(range(start, end)))


def test_the_tagger_learns_spans_and_beats_the_lexicon_floor(tiny_model, tmp_path) -> None:
    scorer = tiny_model[0]
    path = tmp_path / "spans.csv"
    span_file(300).to_csv(path, index=False)
    posts = load_span_posts([str(path)], [file_sha256(path)], tmp_path / "cache")
    settings = SpansConfig(sources=[str(path)], hidden_size=8, epochs=3, batch_size=16, max_len=40)
    network, spans, report = fit_spans(scorer.network, scorer.encoder, posts, settings)
    assert report.posts_held_out == 60 and report.posts_train == 240
    assert report.char_f1 > 0.9 and report.lexicon_char_f1 > 0.9  # the insults are the spans
    assert report.char_f1_interval[0] <= report.char_f1 <= report.char_f1_interval[1]
    assert spans.method in {"tagger", "wide"} and report.method == spans.method
    assert (network.span_tagger is not None) == (spans.method == "tagger")
    assert report.examples and all(e["gold"] for e in report.examples)
    metrics = report.metrics()
    assert metrics["spans_char_f1"] == report.char_f1 and 0 <= metrics["spans_empty_gold_share"] < 1


def test_span_data_comes_over_http_and_is_checked(tiny_fitted, data_server, tmp_path) -> None:
    fitted, _, _ = tiny_fitted
    span_file(120).to_csv(data_server.directory / "tsd.csv", index=False)
    url = f"{data_server.url}/tsd.csv"
    raw = tiny_config() | {
        "spans": {"sources": [url], "hidden_size": 8, "epochs": 1, "max_len": 40}
    }
    config = build_config(raw)
    spec = ModelSpec(fitted.network_config, LABELS, fitted.encoder.max_len, Normalizer())
    trained = TrainedModel(fitted, {}, {}, spec)
    with_data, report = with_spans(trained, config, tmp_path / "cache")
    assert report is not None and report.posts_held_out == 24
    assert with_data.spec.spans.method == report.method
    assert with_data.spec.network == with_data.fitted.result.network.config
    assert data_server.requests == ["/tsd.csv"]
    bad = build_config(raw | {"spans": {"sources": [url], "sha256": ["0" * 64]}})
    with pytest.raises(ChecksumError):
        with_spans(trained, bad, tmp_path / "cache")
    # No span data: the wide path's spans, at the first label's threshold.
    without, none = with_spans(trained, replace(config, spans=SpansConfig()), tmp_path)
    assert none is None and without.spec.spans.method == "wide"


def test_the_evaluate_step_finds_the_train_runsspan_report(tracking) -> None:
    import mlflow

    from steps.evaluate import span_report
    from toxic_mlops.contract import SPANS_REPORT_ARTIFACT

    report = {"method": "tagger", "char_f1": 0.7, "examples": []}
    with mlflow.start_run() as with_report:
        mlflow.log_dict(report, SPANS_REPORT_ARTIFACT)
    with mlflow.start_run() as without:
        mlflow.log_dict({"other": 1}, "spans/other.json")
    assert span_report(with_report.info.run_id) == report
    assert span_report(without.info.run_id) is None

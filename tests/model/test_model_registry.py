"""The logged pyfunc model and the registry gate, with a real sqlite MLflow store."""

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import torch
from mlflow.tracking import MlflowClient

from pyfunc.network import NetworkConfig, ToxicityNet
from pyfunc.scoring import ModelSpec, Scorer
from pyfunc.text import Normalizer
from tests.synthetic import LABELS
from toxic_mlops.config import GatePolicy
from toxic_mlops.data.tokenizer import train_tokenizer
from toxic_mlops.evaluation.gate import Figures, decide_promotion
from toxic_mlops.mlflow_io.packaging import log_pyfunc_model, save_model_files
from toxic_mlops.mlflow_io.registry import PRODUCTION_ALIAS, current_production, register_and_gate

POLICY = GatePolicy(metric="val_macro_roc_auc", max_regression=0.01, max_slowdown=1.5)


@pytest.mark.parametrize(
    ("candidate", "incumbent", "promote", "says"),
    [
        (Figures(0.80, 0.75, 100), None, True, "no Production version yet"),
        (Figures(0.80, 0.85, 100), None, False, "<= TF-IDF baseline 0.8500"),
        (Figures(0.80, 0.80, 100), None, False, "<= TF-IDF baseline"),  # must beat, not tie
        (Figures(0.795, 0.7, 100), Figures(0.80, 0.7, 100), True, "allowed down to 0.7900"),
        (Figures(0.78, 0.7, 100), Figures(0.80, 0.7, 100), False, "FAILED: val_macro_roc_auc 0.78"),
        (Figures(0.90, 0.7, 50), Figures(0.80, 0.7, 100), False, "slowdown 2.00x"),
        (Figures(0.90, 0.7, 70), Figures(0.80, 0.7, 100), True, "slowdown 1.43x"),
        (Figures(0.9, 0.7, 70), Figures(0.8, 0.7, float("nan")), True, "Production unknown"),
        (Figures(float("nan"), 0.7, 70), None, False, "NaN"),
    ],
)
def test_promotion_gate(candidate, incumbent, promote, says) -> None:
    decision = decide_promotion(candidate, incumbent, POLICY)
    assert decision.promote is promote
    assert says in decision.reason


def test_gate_without_baseline_rule() -> None:
    policy = GatePolicy(require_beat_baseline=False)
    assert decide_promotion(Figures(0.6, 0.9, 10), None, policy).promote


def log_tiny_model(tmp_path: Path, metric: float) -> tuple[str, str]:
    """A real (untrained) model logged as the train step logs it; returns (run id, model uri)."""
    tokenizer = train_tokenizer(["you idiot", "nice day", "thanks a lot"] * 5, Normalizer(), 100, 1)
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    torch.manual_seed(0)
    network_config = NetworkConfig(
        vocab_size=tokenizer.get_vocab_size(),
        num_labels=len(LABELS),
        embedding_dim=8,
        hidden_size=4,
    )
    spec = ModelSpec(network_config, LABELS, max_len=20, normalization=Normalizer(), max_rows=50)
    files = save_model_files(
        ToxicityNet(network_config), tmp_path / "tokenizer.json", spec, tmp_path / f"files-{metric}"
    )
    with mlflow.start_run() as run:
        mlflow.log_metric("val_macro_roc_auc", metric)
        info = log_pyfunc_model(files, LABELS, ["hello there", "you idiot"])
    return run.info.run_id, info.model_uri


def test_model_artifact_has_no_pickles_and_loads_without_project_code(tracking, tmp_path) -> None:
    _, model_uri = log_tiny_model(tmp_path, 0.5)
    local = Path(mlflow.artifacts.download_artifacts(model_uri, dst_path=str(tmp_path / "dl")))
    files = {p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file()}
    assert not [f for f in files if f.endswith((".pkl", ".pickle"))], files
    assert {
        "artifacts/weights.pt",
        "artifacts/tokenizer.json",
        "artifacts/model_config.json",
        "code/pyfunc/model.py",
        "MLmodel",
    } <= files
    # weights are a plain state dict: loadable with weights_only=True
    state = torch.load(local / "artifacts" / "weights.pt", weights_only=True)
    assert "heads.weight" in state

    # A fresh interpreter in an empty folder: `pyfunc` can only come from the model's code_paths.
    script = (
        "import json, sys, mlflow, pandas as pd\n"
        "assert 'pyfunc' not in sys.modules\n"
        f"model = mlflow.pyfunc.load_model({str(local)!r})\n"
        "out = model.predict(pd.DataFrame({'text': ['you idiot', '']}))\n"
        "print(json.dumps({'columns': list(out.columns), 'rows': len(out),"
        " 'from': sys.modules['pyfunc'].__path__[0]}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["columns"] == LABELS and result["rows"] == 2
    assert result["from"].startswith(str(local))


def test_in_process_scores_match_the_saved_files(tracking, tmp_path) -> None:
    _, model_uri = log_tiny_model(tmp_path, 0.5)
    model = mlflow.pyfunc.load_model(model_uri)
    texts = ["you idiot", "nice day " * 30, ""]
    served = model.predict(pd.DataFrame({"text": texts})).to_numpy()
    direct = Scorer.from_directory(tmp_path / "files-0.5").predict_proba(texts)
    assert served.shape == (3, len(LABELS))
    assert ((served >= 0) & (served <= 1)).all()
    torch.testing.assert_close(torch.tensor(served), torch.tensor(direct))


def test_registry_promotes_only_when_the_gate_passes(tracking, tmp_path) -> None:
    client = MlflowClient()
    policy = GatePolicy(max_regression=0.0)
    _, first_uri = log_tiny_model(tmp_path, 0.80)
    version, decision = register_and_gate(first_uri, "toxic", Figures(0.80, 0.7, 100), policy)
    assert decision.promote and str(version.version) == "1"

    _, worse_uri = log_tiny_model(tmp_path, 0.70)
    version, decision = register_and_gate(worse_uri, "toxic", Figures(0.75, 0.7, 100), policy)
    assert not decision.promote and str(version.version) == "2"
    assert str(current_production(client, "toxic").version) == "1"
    tags = client.get_model_version("toxic", "2").tags
    assert tags["promotion.decision"] == "kept"
    assert "0.7500 vs Production 0.8000" in tags["promotion.reason"]
    assert float(tags["gate.val_macro_roc_auc"]) == 0.75

    better_run, better_uri = log_tiny_model(tmp_path, 0.85)
    version, decision = register_and_gate(better_uri, "toxic", Figures(0.85, 0.7, 90), policy)
    assert decision.promote
    assert str(client.get_model_version_by_alias("toxic", PRODUCTION_ALIAS).version) == "3"
    stages = {str(v.version): v.current_stage for v in client.search_model_versions("name='toxic'")}
    assert stages == {"1": "Archived", "2": "None", "3": "Production"}
    # Both URI forms resolve to the promoted version.
    for uri in ("models:/toxic/Production", "models:/toxic@production"):
        assert mlflow.pyfunc.load_model(uri).metadata.run_id == better_run

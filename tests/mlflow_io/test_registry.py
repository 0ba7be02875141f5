"""The logged pyfunc model and the registry gate, with a real sqlite MLflow store (the
gate's rules alone: tests/unit/test_gate.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import torch
from mlflow.tracking import MlflowClient

from pyfunc.network import ToxicityNet
from pyfunc.network_config import NetworkConfig
from pyfunc.scoring import ModelSpec, Scorer
from pyfunc.text import Normalizer
from tests.synthetic import LABELS
from tests.unit.test_gate import POLICY, figures
from toxic_mlops.data.tokenizer import train_tokenizer
from toxic_mlops.mlflow_io.packaging import log_pyfunc_model, save_model_files
from toxic_mlops.mlflow_io.registry import (
    MAX_DESCRIPTION_CHARS,
    PRODUCTION_ALIAS,
    SameSplit,
    current_production,
    register_and_gate,
    version_description,
)


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
    _, first_uri = log_tiny_model(tmp_path, 0.80)
    card = "# Model card\n\n**Model**: the first one."
    version, decision = register_and_gate(
        first_uri, "toxic", figures(0.80, 0.7, 100, 0.99), POLICY, description=card
    )
    assert decision.promote and str(version.version) == "1"
    assert client.get_model_version("toxic", "1").description == card

    # Scored against Production on its own split: a higher AUC, but inside the noise.
    _, close_uri = log_tiny_model(tmp_path, 0.81)
    same_split = SameSplit("toxic/1", 0.80, 0.62)
    version, decision = register_and_gate(
        close_uri, "toxic", figures(0.81, 0.7, 100, 0.99), POLICY, same_split
    )
    assert not decision.promote and str(version.version) == "2"
    assert str(current_production(client, "toxic").version) == "1"
    tags = client.get_model_version("toxic", "2").tags
    assert tags["promotion.decision"] == "kept"
    assert "P(better than Production) = 0.62 < 0.90" in tags["promotion.reason"]
    assert float(tags["gate.val_macro_roc_auc"]) == 0.81
    assert float(tags["gate.p_better_than_production"]) == 0.62
    assert not client.get_model_version("toxic", "2").description

    # Figures of another Production version than the current one are not used.
    better_run, better_uri = log_tiny_model(tmp_path, 0.85)
    stale = SameSplit("toxic/2", 0.70, 0.99)
    version, decision = register_and_gate(
        better_uri, "toxic", figures(0.85, 0.7, 90, 0.99), POLICY, stale
    )
    assert decision.promote, decision.reason
    assert "no paired bootstrap: point values, val_macro_roc_auc 0.8500 vs 0.8000" in (
        decision.reason
    )
    assert "gate.p_better_than_production" not in client.get_model_version("toxic", "3").tags
    assert str(client.get_model_version_by_alias("toxic", PRODUCTION_ALIAS).version) == "3"
    stages = {str(v.version): v.current_stage for v in client.search_model_versions("name='toxic'")}
    assert stages == {"1": "Archived", "2": "None", "3": "Production"}
    # Both URI forms resolve to the promoted version.
    for uri in ("models:/toxic/Production", "models:/toxic@production"):
        assert mlflow.pyfunc.load_model(uri).metadata.run_id == better_run


def test_a_long_card_is_cut_at_a_line_to_fit_the_registry(tracking, tmp_path) -> None:
    card = "# Model card\n\n" + "\n".join(f"| row {i} | {'x' * 60} |" for i in range(200))
    description = version_description(card, "runs:/abc/model_card.md")
    assert len(card) > MAX_DESCRIPTION_CHARS >= len(description)
    assert description.endswith("the full card: runs:/abc/model_card.md\n")
    kept = description.split("\n\n... cut")[0]
    assert card.startswith(kept) and kept.endswith("x |")  # whole lines only
    _, uri = log_tiny_model(tmp_path, 0.8)
    register_and_gate(uri, "toxic", figures(0.8, 0.7, 100, 0.99), POLICY, description=description)
    assert MlflowClient().get_model_version("toxic", "1").description == description


def test_a_candidate_needing_much_more_memory_than_production_is_refused(
    tracking, tmp_path
) -> None:
    client = MlflowClient()
    _, first_uri = log_tiny_model(tmp_path, 0.80)
    register_and_gate(first_uri, "toxic", figures(0.80, 0.7, 100, 0.99, peak=500), POLICY)
    assert client.get_model_version("toxic", "1").tags["gate.peak_rss_mb"] == "500"

    # Better with certainty and as fast, but 1.8x Production's recorded peak memory.
    _, heavy_uri = log_tiny_model(tmp_path, 0.90)
    candidate = figures(0.90, 0.7, 100, 0.99, peak=900)
    _, decision = register_and_gate(heavy_uri, "toxic", candidate, POLICY)
    assert not decision.promote
    assert decision.reason.startswith(
        "FAILED: peak memory 900 MB vs Production 500 MB (growth 1.80x, allowed 1.50x); passed: "
    )
    assert "P(better than Production) = 1.00 >= 0.90" in decision.reason
    assert str(current_production(client, "toxic").version) == "1"
    assert client.get_model_version("toxic", "2").tags["promotion.decision"] == "kept"

    # Production measured again beside the candidate, in its evaluate run: that figure counts.
    same_split = SameSplit("toxic/1", 0.80, 0.99, peak_rss_mb=800)
    _, decision = register_and_gate(heavy_uri, "toxic", candidate, POLICY, same_split)
    assert decision.promote, decision.reason
    assert "peak memory 900 MB vs Production 800 MB (growth 1.12x, allowed 1.50x)" in (
        decision.reason
    )
    assert str(current_production(client, "toxic").version) == "3"

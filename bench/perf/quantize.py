"""Is dynamic int8 quantisation (serving.quantize) worth it? Speed and test AUC, both ways.

    python -m bench.perf.quantize --model-uri models:/toxic/Production

Scores the model's own test split (found through its train run's preprocess run) with the fp32 and
the int8 network; keep quantisation only if it is faster and loses < 0.002 macro ROC-AUC.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import mlflow
import numpy as np
import torch

from bench.cli import bench_parser
from bench.common import Summary, figure, record
from bench.data import test_split
from pyfunc.scoring import MODEL_CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE, ModelSpec, Scorer  # noqa: E402
from toxic_mlops.evaluation.metrics import macro, roc_auc_per_label  # noqa: E402


def scorer_for(model_dir: Path, quantize: bool, work: Path) -> Scorer:
    spec = ModelSpec.from_dict(json.loads((model_dir / MODEL_CONFIG_FILE).read_text()))
    config = work / f"config-{quantize}.json"
    config.write_text(json.dumps(replace(spec, quantize=quantize).to_dict()))
    return Scorer.from_files(model_dir / TOKENIZER_FILE, model_dir / WEIGHTS_FILE, config)


def main() -> None:
    parser = bench_parser(__doc__, model_uri="models:/toxic/Production")
    parser.add_argument("--threshold", type=float, default=0.5)
    args = parser.parse_args()

    test = test_split(mlflow.models.get_model_info(args.model_uri).run_id)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model_dir = Path(mlflow.artifacts.download_artifacts(args.model_uri, dst_path=tmp))
        model_dir = model_dir / "artifacts"
        report = {"test_rows": len(test)}
        for quantize in (False, True):
            scorer = scorer_for(model_dir, quantize, work)
            labels = scorer.spec.labels
            texts = test["text"].tolist()
            scorer.predict_proba(texts[:256])
            started = time.perf_counter()
            probabilities = scorer.predict_proba(texts)
            seconds = time.perf_counter() - started
            targets = test[labels].to_numpy(dtype=np.float32)
            aucs = roc_auc_per_label(targets, probabilities, labels, args.threshold)
            report["int8" if quantize else "fp32"] = {
                "comments_per_s": round(len(texts) / seconds, 1),
                "test_macro_roc_auc": round(macro(aucs), 5),
            }
        report["macro_auc_drop"] = round(
            report["fp32"]["test_macro_roc_auc"] - report["int8"]["test_macro_roc_auc"], 5
        )
        report["speedup"] = round(
            report["int8"]["comments_per_s"] / report["fp32"]["comments_per_s"], 3
        )
        report["torch_threads"] = torch.get_num_threads()
    record("quantize", report)


def summarize(report: dict) -> Summary:
    """comments/s and test macro ROC-AUC of the fp32 and the int8 network."""
    rows = [
        (name, report[name]["comments_per_s"], report[name]["test_macro_roc_auc"])
        for name in ("fp32", "int8")
    ]
    worth = report["speedup"] > 1 and report["macro_auc_drop"] < 0.002
    sentence = (
        f"Dynamic int8 runs {figure(report['speedup'])} times as fast on {report['test_rows']:,} "
        f"test comments and loses {figure(report['macro_auc_drop'])} test macro ROC-AUC: "
        f"{'worth' if worth else 'not worth'} it by the rule (faster, loss < 0.002)."
    )
    return Summary(sentence, ("network", "comments/s", "test macro ROC-AUC"), rows)


if __name__ == "__main__":
    main()

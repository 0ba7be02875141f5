"""Model-quality benchmarks with targets the docs quote (`python -m bench.quality.<name>`)."""

BENCHMARKS = {
    "pipeline": "the whole `mlflow run . -e main` on a real dataset: time, test metrics, the gate",
    "cross_source": "trained on one source, scored on the others: the model vs TF-IDF + LR, paired",
    "bias": "identity bias (template probe, term metric) per mitigation vs TF-IDF + LR",
    "spans": "toxic-span char F1 on held-out SemEval posts, and what explain costs a request",
    "peers": "an external peer (alt-profanity-check) on a pipeline model's test split",
    "ddp": "the deep network trained by 2 DDP processes on Spark vs 1 process: validation "
    "ROC-AUC with a paired bootstrap, throughput and communication share per process",
    "evasion": "toxic words disguised (invisible characters, look-alikes, leetspeak, ...): "
    "ROC-AUC, share still flagged, false positives; the model vs TF-IDF words and chars + LR",
}

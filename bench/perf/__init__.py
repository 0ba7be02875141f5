"""Performance benchmarks: speed, memory and load (`python -m bench.perf.<name>`)."""

BENCHMARKS = {
    "serve": "bare forward vs in-process predict vs the real model server: comments/s, latency",
    "serve_ab": "A/B of an environment setting on two model servers of the same model",
    "server_layers": "what each layer between predict and the HTTP server costs, in-process",
    "load": "concurrent good and malformed requests against the real server: no 5xx, no drops",
    "serve_memory": "the server's RSS before, during and after huge requests",
    "serve_overhead": "what the serving hardening costs: proxy without keep-alive, slices, guard",
    "forward": "bare forward of the reference-size network on fixed-length batches",
    "quantize": "dynamic int8 vs fp32: speed and test ROC-AUC of a registered model",
    "batch_score": "Spark batch scoring (spark_udf) vs in-process predict, comments/s",
    "bootstrap_cost": "what the evaluate step's bootstrap intervals and the gate's test cost",
    "tokenizer_determinism": "whether each tokenizer trainer gives the same vocabulary every run",
    "monitor": "validate and monitor on real batches against a registered model, timed",
    "image": "the serving image: size, time to ready, answers, CUDA-free pip resolution",
    "scale": "the chain's stages at growing row counts: wall time, peak RSS, growth exponents",
}

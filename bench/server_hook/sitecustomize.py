"""Times `PyFuncModel.predict` inside the model server (`bench.perf.serve --time-server-predict`).

Python imports `sitecustomize` at start-up from PYTHONPATH; bench/perf/serve.py puts this folder
there for the server only, with TOXIC_BENCH_PREDICT_LOG naming a file. Each predict call appends
its wall seconds as one line, before MLflow builds the HTTP response, so the line is there by the
time the client has the answer. Without the variable this file does nothing.
"""

import os
import time

LOG = os.environ.get("TOXIC_BENCH_PREDICT_LOG")

if LOG:
    import mlflow.pyfunc

    untimed_predict = mlflow.pyfunc.PyFuncModel.predict

    def timed_predict(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return untimed_predict(self, *args, **kwargs)
        finally:
            with open(LOG, "a") as log:
                log.write(f"{time.perf_counter() - started:.6f}\n")

    mlflow.pyfunc.PyFuncModel.predict = timed_predict

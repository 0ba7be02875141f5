#!/bin/sh
# The model's scoring server on 0.0.0.0:PORT. PORT, WORKERS and THREADS (torch threads per worker;
# empty: the model's serving.num_threads) come from the container's environment.
set -eu
for name in PORT WORKERS THREADS; do
    value=$(printenv "$name" || true)
    case $value in
    *[!0-9]*) echo "$name must be a whole number, got '$value'" >&2 && exit 2 ;;
    esac
done
if [ -n "${THREADS:-}" ]; then
    # The override pyfunc/model.py declares (model_config num_threads) for any loader.
    export MLFLOW_PYFUNC_INFERENCE_CONFIG="{\"num_threads\": $THREADS}"
fi
# What `mlflow models serve --env-manager local` runs (mlflow.pyfunc.scoring_server.get_cmd),
# without the mlflow command in front, which needs a writable /tmp and, as PID 1 without a
# SIGTERM handler, is killed only after docker stop's 10 s (measured); uvicorn stops at once.
export __pyfunc_model_path__=/opt/model
exec uvicorn --host 0.0.0.0 --port "${PORT:-8080}" --workers "${WORKERS:-1}" \
    mlflow.pyfunc.scoring_server.app:app

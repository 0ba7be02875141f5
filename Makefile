# Set-up and everyday commands. Every target runs inside the project's venv (its bin is put on
# PATH: `mlflow models serve` starts uvicorn by name) against a local sqlite tracking store,
# unless MLFLOW_TRACKING_URI is already set.
VENV ?= .venv
PYTHON ?= python3
# Where pip finds torch. Empty: the default index (a CPU wheel on this project's machines).
# Elsewhere on Linux, https://download.pytorch.org/whl/cpu avoids a multi-GB CUDA build.
TORCH_INDEX ?=
# Empty: each step takes the config of what it reads (the Production model's, the upstream run's;
# docs/operations.md), so after `make demo` every target works on the demo's; pipeline: toxic.yaml.
CONFIG ?=
MODEL ?= models:/toxic/Production
DATA ?=
TRIALS ?=
PORT ?= 5000
WORKERS ?= 1
# The page to try the model (make page), beside `make serve` on PORT.
PAGE_PORT ?= 8000
OUT ?= build/scores.parquet
PUBLIC_PORT ?= 8080
# The local team stack (PostgreSQL + S3 + MLflow server with auth): docs/team-server.md
STACK_DIR ?= .stack
# The serving image (make image, docs/serving.md). Where no registry is reachable, a base from
# the Debian archive: BASE_IMAGE=$$(bash toxic_mlops/serving/image/base.sh)
IMAGE ?= toxic-serving
BASE_IMAGE ?= python:3.11-slim
THREADS ?=

export PATH := $(abspath $(VENV))/bin:$(PATH)
export MLFLOW_TRACKING_URI ?= sqlite:///mlflow.db
export MLFLOW_EXPERIMENT_NAME ?= toxic
RUN := mlflow run . --env-manager local --experiment-name $(MLFLOW_EXPERIMENT_NAME)
CONFIG_P = $(if $(CONFIG),-P config=$(CONFIG))
# The targets that read a batch stop at once, in one line, without one.
need-data = $(if $(DATA),,$(error no batch: make $@ DATA=<path or URL of a CSV/parquet batch> (docs/operations.md)))

.PHONY: install experiment pipeline download preprocess train register validate monitor retrain \
	tune serve lineage ui image image-run test test-fast bench-report lint clean
.PHONY: demo page system-packages score serve-public stack-up stack-down docs-figures

install: system-packages $(VENV)/.installed

# nginx (make serve-public), Java (Spark, make score), PostgreSQL (make stack-up) and chromium
# (the page's browser test), from Debian's archive when missing.
system-packages:
	@bash .ci/system-packages.sh

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	# torch first and pinned, so nothing later resolves it to a CUDA build.
	$(VENV)/bin/python -m pip install torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(VENV)/bin/python -m pip install ".[dev]"
	touch $@

experiment: install
	$(VENV)/bin/python -m toxic_mlops.mlflow_io init-tracking --experiment $(MLFLOW_EXPERIMENT_NAME)

pipeline: experiment
	$(RUN) -e main $(CONFIG_P)

# The whole chain offline on the bundled sample (data/README.md); registers `toxic` like pipeline.
demo: experiment
	$(RUN) -e main -P config=configs/sample.yaml
	@echo
	@echo "Next: make serve     (serves models:/toxic/Production on 127.0.0.1:$(PORT)), then"
	@echo "      curl -s 127.0.0.1:$(PORT)/invocations -H 'Content-Type: application/json' \\"
	@echo "           -d '{\"inputs\": [\"you are a total idiot\", \"thanks, that was helpful\"]}'"
	@echo "      make page      (in another shell: the page to try the model, docs/page.md)"

download preprocess train register: experiment
	$(RUN) -e $@ $(CONFIG_P)

# The loop around the pipeline (README: "Keeping Production right"). DATA: path or URL of a batch.
validate monitor: experiment
	$(need-data)
	$(RUN) -e $@ $(CONFIG_P) -P data=$(DATA)

retrain: experiment
	$(need-data)
	$(RUN) -e retrain $(CONFIG_P) -P new_data=$(DATA)

tune: experiment
	$(RUN) -e tune $(CONFIG_P) $(if $(TRIALS),-P n_trials=$(TRIALS))

serve: install
	$(VENV)/bin/python -m toxic_mlops.serving serve --model $(MODEL) --host 127.0.0.1 --port $(PORT) --workers $(WORKERS)

# The page to try the model: http://127.0.0.1:$(PAGE_PORT)/, talking to `make serve` (docs/page.md).
page: install
	$(VENV)/bin/python -m toxic_mlops.serving page --model $(MODEL) --upstream http://127.0.0.1:$(PORT) --port $(PAGE_PORT)

# Score a stored table on Spark: DATA = CSV / parquet path or URL, OUT = parquet folder written.
score: experiment
	$(need-data)
	$(RUN) -e batch_score $(CONFIG_P) -P model=$(MODEL) -P data=$(DATA) -P output=$(OUT)

# The model server behind nginx (token, body-size and rate limits) on PUBLIC_PORT; Ctrl-C stops both.
serve-public: install
	$(VENV)/bin/python -m toxic_mlops.serving public $(if $(CONFIG),--config $(CONFIG)) --model $(MODEL) --port $(PUBLIC_PORT)

# The serving image of MODEL (toxic_mlops/serving/image/). TORCH_BUILD=cu128 and TORCH_INDEX
# (both read from the environment or make's command line) choose another torch: docs/serving.md.
image: install
	@$(VENV)/bin/python -m toxic_mlops.mlflow_io lineage --model $(MODEL) > /dev/null  # a clear error if no such model
	MODEL=$(MODEL) IMAGE=$(IMAGE) BASE_IMAGE=$(BASE_IMAGE) bash toxic_mlops/serving/image/build.sh

# The image on 127.0.0.1:PORT, read-only root file system; Ctrl-C stops it.
image-run:
	docker run --rm --read-only -p 127.0.0.1:$(PORT):8080 -e WORKERS=$(WORKERS) \
		-e THREADS=$(THREADS) $(IMAGE)

# Where a registered model came from: version -> runs -> source files and digests.
lineage: install
	$(VENV)/bin/python -m toxic_mlops.mlflow_io lineage --model $(MODEL)

# The figures README and docs quote from `make demo`'s model, rewritten from its recorded runs
# (after make demo; tests/e2e/test_demo_day_two.py fails when they drift).
docs-figures: install
	$(VENV)/bin/python -m toxic_mlops.mlflow_io docs-figures

ui: install
	mlflow ui --backend-store-uri $(MLFLOW_TRACKING_URI) --port 5001

# Start / stop the stack; `make stack-up` prints the exports that point every command at it.
stack-up: install
	@$(VENV)/bin/python -m toxic_mlops.stack up --dir $(STACK_DIR)

stack-down:
	@$(VENV)/bin/python -m toxic_mlops.stack down --dir $(STACK_DIR)

test: install
	$(VENV)/bin/python -m pytest

# Everything but the end-to-end tests (tests/e2e): unit, data, model behaviour, MLflow adapters.
test-fast: install
	$(VENV)/bin/python -m pytest tests/unit tests/data tests/model tests/mlflow_io

# docs/benchmarks.md: the latest result per benchmark in bench/results/ (python -m bench.<kind>.<name>).
bench-report: install
	$(VENV)/bin/python -m bench.report

lint: install
	$(VENV)/bin/ruff check .

clean:
	rm -rf mlflow.db mlartifacts mlruns .pytest_cache build

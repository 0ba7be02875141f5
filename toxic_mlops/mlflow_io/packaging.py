"""Save a trained network as files and log them as the pyfunc model (no pickled objects)."""

from __future__ import annotations

import json
import shutil
from importlib.metadata import version
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import tokenizers
import torch
from mlflow.models import ModelSignature
from mlflow.models.model import ModelInfo
from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec

from pyfunc.model import EXPLAIN_PARAM, NUM_THREADS_KEY, TEXT_COLUMN
from pyfunc.network import ToxicityNet
from pyfunc.scoring import MODEL_CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE, ModelSpec
from toxic_mlops.contract import MODEL_ARTIFACT

PYFUNC_DIR = Path(__file__).resolve().parents[2] / "pyfunc"


def save_model_files(
    network: ToxicityNet, tokenizer_file: Path, spec: ModelSpec, directory: Path
) -> dict[str, str]:
    """Write weights (state dict), tokenizer.json and model_config.json; return them by name."""
    directory.mkdir(parents=True, exist_ok=True)
    torch.save(network.state_dict(), directory / WEIGHTS_FILE)
    shutil.copyfile(tokenizer_file, directory / TOKENIZER_FILE)
    (directory / MODEL_CONFIG_FILE).write_text(json.dumps(spec.to_dict(), indent=2))
    return {
        name: str(directory / name) for name in (TOKENIZER_FILE, WEIGHTS_FILE, MODEL_CONFIG_FILE)
    }


def signature(labels: list[str]) -> ModelSignature:
    """Input: a 1-D `text` tensor of objects, so the server hands the request's values over as sent.

    A string ColSpec would make MLflow cast them first (1 -> "1", null -> "None") and a wrong
    request would be scored instead of answered with a 400 by ToxicityModel's own checks.
    The `explain` parameter must be declared here, or the scoring server refuses it.
    """
    return ModelSignature(
        inputs=Schema([TensorSpec(np.dtype(object), (-1,), TEXT_COLUMN)]),
        outputs=Schema([ColSpec("float", label) for label in labels]),
        params=ParamSchema([ParamSpec(EXPLAIN_PARAM, "boolean", False)]),
    )


# PyTorch's own index of CPU builds: on Linux, PyPI's torch is the CUDA build (several GB of
# nvidia-* packages and triton) and this model runs on CPU.
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def pip_requirements() -> list[str]:
    """The served model's environment: CPU torch and MLflow's scoring server, no training stack.

    MLflow keeps the index line in requirements.txt and conda.yaml (python_env.yaml points at
    requirements.txt), so `pip install -r` honours it. The `+cpu` builds exist only on that index:
    where it is unreachable and no local wheel has one, pip fails instead of fetching CUDA torch.
    PyPI's macOS and Windows wheels are CPU builds with no `+cpu` twin. mlflow-skinny holds the
    scoring server (FastAPI, uvicorn); full mlflow adds the tracking server, UI and scikit-learn.
    """
    torch_release = torch.__version__.split("+")[0]
    return [
        f"--extra-index-url {TORCH_CPU_INDEX}",
        f"mlflow-skinny=={mlflow.__version__}",
        f'torch=={torch_release}+cpu; sys_platform == "linux"',
        f'torch=={torch_release}; sys_platform != "linux"',
        f"tokenizers=={tokenizers.__version__}",
        # its confusables data decides how look-alike letters are read: pinned with the model
        f"confusable-homoglyphs=={version('confusable-homoglyphs')}",
        f"numpy=={np.__version__}",
        f"pandas=={pd.__version__}",
    ]


def log_pyfunc_model(
    artifacts: dict[str, str], labels: list[str], examples: list[str]
) -> ModelInfo:
    """Log the model from code (pyfunc/model_code.py) with pyfunc/ shipped as code_paths."""
    return mlflow.pyfunc.log_model(
        name=MODEL_ARTIFACT,
        python_model=str(PYFUNC_DIR / "model_code.py"),
        artifacts=artifacts,
        code_paths=[str(PYFUNC_DIR)],
        signature=signature(labels),
        input_example={TEXT_COLUMN: np.array(examples, dtype=object)},
        pip_requirements=pip_requirements(),
        # Declared so a loader may override it (spark_udf's model_config, or the server's
        # MLFLOW_PYFUNC_INFERENCE_CONFIG); null = the model's serving.num_threads.
        model_config={NUM_THREADS_KEY: None},
    )

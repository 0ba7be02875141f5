"""Load a saved model directory and turn raw texts into per-label probabilities."""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pyfunc.encoding import TextEncoder
from pyfunc.network import ToxicityNet
from pyfunc.network_config import NetworkConfig
from pyfunc.spans import SpanSettings
from pyfunc.text import Normalizer

# File names inside a saved model directory (and keys of the pyfunc model's artifacts).
TOKENIZER_FILE = "tokenizer.json"
WEIGHTS_FILE = "weights.pt"
MODEL_CONFIG_FILE = "model_config.json"
# Texts normalised and tokenised at once (a request is still sorted by length as a whole).
ENCODE_ROWS = 1024


@dataclass(frozen=True)
class ModelSpec:
    """Everything besides the weights and the tokenizer that is needed to score: kept as JSON."""

    network: NetworkConfig
    labels: list[str]
    max_len: int
    normalization: Normalizer
    batch_size: int = 256
    max_rows: int = 10_000
    num_threads: int = 0  # torch threads per serving process; 0 = torch's default (all cores)
    quantize: bool = False  # dynamic int8 for LSTM/Linear at load time
    # Characters of a comment read before normalising; 0 = max_len x CHARS_PER_TOKEN_BUDGET.
    max_chars: int = 0
    # The scoring server refuses a larger body with 413, before parsing it (pyfunc/http_guard.py).
    max_request_mb: int = 32
    # Per-label decision thresholds tuned on validation (best F1), for clients that need a yes/no.
    thresholds: dict[str, float] = field(default_factory=dict)
    # How explanations find toxic spans (pyfunc/spans.py); models saved before it have none.
    spans: SpanSettings = field(default_factory=SpanSettings)
    # Toxic-looking words whose disguises are read back (pyfunc/respelling.py); [] = none.
    lexicon: list[str] = field(default_factory=list)
    # Letters of one word read back as look-alikes or masks; models saved before it read one.
    misread_letters: int = 1
    # The training split's commonest words, commonest first: the reader's frequency ranks; [] =
    # the tokenizer's merge order (models saved before it).
    frequent_words: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelSpec:
        return cls(
            network=NetworkConfig.from_dict(values["network"]),
            labels=list(values["labels"]),
            max_len=int(values["max_len"]),
            normalization=Normalizer.from_dict(values["normalization"]),
            batch_size=int(values.get("batch_size", 256)),
            max_rows=int(values.get("max_rows", 10_000)),
            num_threads=int(values.get("num_threads", 0)),
            quantize=bool(values.get("quantize", False)),
            max_chars=int(values.get("max_chars", 0)),
            max_request_mb=int(values.get("max_request_mb", 32)),
            thresholds={k: float(v) for k, v in values.get("thresholds", {}).items()},
            spans=SpanSettings.from_dict(values.get("spans")),
            lexicon=list(values.get("lexicon", [])),
            misread_letters=int(values.get("misread_letters", 1)),
            frequent_words=list(values.get("frequent_words", [])),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "network": self.network.to_dict(),
            "labels": self.labels,
            "max_len": self.max_len,
            "normalization": self.normalization.to_dict(),
            "batch_size": self.batch_size,
            "max_rows": self.max_rows,
            "num_threads": self.num_threads,
            "quantize": self.quantize,
            "max_chars": self.max_chars,
            "max_request_mb": self.max_request_mb,
            "thresholds": self.thresholds,
            "spans": self.spans.to_dict(),
            "lexicon": self.lexicon,
            "misread_letters": self.misread_letters,
            "frequent_words": self.frequent_words,
        }


class Scorer:
    """Network + encoder in eval mode. Sorts a request by length and pads each chunk on its own."""

    def __init__(self, network: ToxicityNet, encoder: TextEncoder, spec: ModelSpec) -> None:
        self.network = network.eval()
        self.encoder = encoder
        self.spec = spec

    @classmethod
    def from_files(
        cls, tokenizer_path: str | Path, weights_path: str | Path, config_path: str | Path
    ) -> Scorer:
        spec = ModelSpec.from_dict(json.loads(Path(config_path).read_text()))
        network = ToxicityNet(spec.network)
        # weights_only: the file is a plain state dict, and loading must never run pickled code.
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
        network.load_state_dict(state)
        if spec.quantize:
            with warnings.catch_warnings():
                # torch marks eager dynamic quantisation deprecated; it works in the pinned 2.13.
                warnings.simplefilter("ignore")
                network = torch.ao.quantization.quantize_dynamic(
                    network, {torch.nn.LSTM, torch.nn.Linear}, dtype=torch.qint8
                )
        encoder = TextEncoder.from_file(
            tokenizer_path,
            spec.normalization,
            spec.max_len,
            spec.lexicon,
            spec.max_chars,
            spec.misread_letters,
            spec.frequent_words,
        )
        return cls(network, encoder, spec)

    @classmethod
    def from_directory(cls, directory: str | Path) -> Scorer:
        directory = Path(directory)
        return cls.from_files(
            directory / TOKENIZER_FILE, directory / WEIGHTS_FILE, directory / MODEL_CONFIG_FILE
        )

    @torch.inference_mode()
    def predict_ids(self, sequences: Sequence[Sequence[int]], logits: bool = False) -> np.ndarray:
        """Probabilities (or logits) [n, labels] for tokenised sequences, in the order given."""
        values = np.empty((len(sequences), len(self.spec.labels)), dtype=np.float32)
        # Longest first, so chunks hold similar lengths and padding stays small.
        order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]), reverse=True)
        for start in range(0, len(order), self.spec.batch_size):
            chunk = order[start : start + self.spec.batch_size]
            token_ids, lengths = self.encoder.pad([sequences[i] for i in chunk])
            output = self.network(token_ids, lengths)
            values[chunk] = (output if logits else torch.sigmoid(output)).numpy()
        return values

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities [n, labels], max_rows texts at a time (one HTTP request holds no more)."""
        chunk = self.spec.max_rows
        if len(texts) <= chunk:
            return self.predict_ids(self.encode(texts))
        return np.concatenate(
            [
                self.predict_ids(self.encode(texts[start : start + chunk]))
                for start in range(0, len(texts), chunk)
            ]
        )

    def encode(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Token ids per text as compact int32 arrays, normalised and tokenised ENCODE_ROWS texts
        at a time: the tokenizer's per-token objects and Python's lists of ints live for one slice
        only (for 10,000 comments of 3,000 characters, all at once they took ~1.1 GB)."""
        return [
            np.asarray(ids, dtype=np.int32)
            for start in range(0, len(texts), ENCODE_ROWS)
            for ids in self.encoder.encode(texts[start : start + ENCODE_ROWS])
        ]

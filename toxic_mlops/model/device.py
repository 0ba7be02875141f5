"""Where and in which arithmetic the training steps run: training.device and training.precision.

One code path for every choice: the step runs under `Precision.autocast()` and steps through
`Precision.scaler`; in fp32 both are pass-throughs, with fp16 the scaler keeps small gradients
from underflowing. Only the forward and backward passes change: the weights, the optimiser state
and the saved model stay fp32, so the served model is the same whatever trained it.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import torch

from toxic_mlops.config import ConfigError

DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """auto: CUDA when torch sees a GPU (process `local_rank`'s own one of them), else the CPU."""
    if name == "auto":
        if not torch.cuda.is_available():
            return torch.device("cpu")
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    return torch.device(name)


def local_rank() -> int:
    """This process's index on its machine (torchrun's LOCAL_RANK; 0 outside torchrun)."""
    return int(os.environ.get("LOCAL_RANK", "0"))


@dataclass(frozen=True)
class Precision:
    """The arithmetic of the training steps on one device."""

    name: str  # fp32, fp16, bf16
    device_type: str  # cpu, cuda

    @property
    def dtype(self) -> torch.dtype | None:
        return DTYPES.get(self.name)

    @property
    def mixed(self) -> bool:
        return self.dtype is not None

    def autocast(self) -> contextlib.AbstractContextManager:
        """Mixed precision for the forward pass and the loss; nothing in fp32."""
        if not self.mixed:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def scaler(self) -> torch.amp.GradScaler:
        """A gradient scaler, on for fp16 only (bf16 has fp32's range)."""
        return torch.amp.GradScaler(self.device_type, enabled=self.name == "fp16")


def resolve_precision(setting: str, device: torch.device) -> Precision:
    """training.precision on the resolved device.

    auto: on CUDA bf16 where the GPU computes it natively (Ampere and later), else fp16; fp32 on
    the CPU (CPU autocast gains little for an LSTM and would change the results).
    """
    if setting == "auto":
        if device.type != "cuda":
            return Precision("fp32", device.type)
        return Precision("bf16" if torch.cuda.is_bf16_supported() else "fp16", device.type)
    if setting == "fp16" and device.type != "cuda":
        raise ConfigError(f"training.precision fp16 needs a CUDA device, training runs on {device}")
    return Precision(setting, device.type)

"""training.device and training.precision: what runs where, with CUDA absent and present.

No GPU on the machines that run these tests: "present" is torch.cuda's answers patched, which is
enough for the choice (the choice functions only ask torch.cuda); the training itself runs on
the CPU, in fp32, elsewhere in the suite.
"""

from __future__ import annotations

import pytest
import torch

from toxic_mlops.config import ConfigError
from toxic_mlops.model.device import Precision, resolve_device, resolve_precision


@pytest.fixture
def cuda(monkeypatch: pytest.MonkeyPatch):
    """torch.cuda as on a machine with two GPUs; bf16 support set per test."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)

    def with_bf16(supported: bool) -> None:
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: supported)

    with_bf16(True)
    return with_bf16


@pytest.fixture
def no_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def test_without_cuda_auto_is_the_cpu_in_fp32(no_cuda) -> None:
    device = resolve_device("auto")
    assert device == torch.device("cpu")
    precision = resolve_precision("auto", device)
    assert precision == Precision("fp32", "cpu") and not precision.mixed


def test_with_cuda_auto_is_the_gpu_of_the_local_process(cuda) -> None:
    assert resolve_device("auto") == torch.device("cuda", 0)
    assert resolve_device("auto", local_rank=1) == torch.device("cuda", 1)
    assert resolve_device("auto", local_rank=3) == torch.device("cuda", 1)  # 2 GPUs, 4 processes
    assert resolve_device("cpu") == torch.device("cpu")  # an explicit device is kept


@pytest.mark.parametrize(("bf16", "chosen"), [(True, "bf16"), (False, "fp16")])
def test_with_cuda_auto_is_mixed_precision(cuda, bf16: bool, chosen: str) -> None:
    cuda(bf16)
    precision = resolve_precision("auto", torch.device("cuda", 0))
    assert (precision.name, precision.device_type, precision.mixed) == (chosen, "cuda", True)
    assert precision.dtype == {"bf16": torch.bfloat16, "fp16": torch.float16}[chosen]


def test_an_explicit_precision_is_kept(cuda) -> None:
    assert resolve_precision("fp32", torch.device("cuda", 0)) == Precision("fp32", "cuda")
    assert resolve_precision("fp16", torch.device("cuda", 0)).name == "fp16"
    assert resolve_precision("bf16", torch.device("cpu")) == Precision("bf16", "cpu")


def test_fp16_on_the_cpu_is_refused(no_cuda) -> None:
    # device auto on a machine without CUDA: the config could not know; training says so.
    with pytest.raises(ConfigError, match="fp16 needs a CUDA device"):
        resolve_precision("fp16", resolve_device("auto"))


def test_only_fp16_scales_gradients(cuda) -> None:
    # Built, never stepped (that would need a GPU): whether the scaler is on is the choice.
    assert Precision("fp16", "cuda").scaler().is_enabled()
    assert not Precision("bf16", "cuda").scaler().is_enabled()
    assert not Precision("fp32", "cpu").scaler().is_enabled()


def test_autocast_computes_in_the_chosen_dtype_and_fp32_is_untouched() -> None:
    layer = torch.nn.Linear(4, 2)
    inputs = torch.ones(3, 4)
    with Precision("bf16", "cpu").autocast():
        assert layer(inputs).dtype == torch.bfloat16
    with Precision("fp32", "cpu").autocast():
        assert layer(inputs).dtype == torch.float32
    assert layer.weight.dtype == torch.float32  # the weights stay fp32 either way

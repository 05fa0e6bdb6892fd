"""The one device rule of the torch side: `--device cpu | cuda | cuda:K`, default CUDA when
there is one; where a model's weights live; which mixed precision a device runs fast."""
from __future__ import annotations

import re

import torch

from synth.errors import InputError


def resolve_device(name: str | torch.device | None, local_rank: int | None = None
                   ) -> torch.device:
    """cpu, cuda or cuda:K (None: cuda if available, else cpu) as a torch.device.

    `local_rank` (under torchrun) makes a CUDA device this process's own GPU. InputError when
    the name is none of those, CUDA is asked for but absent, or GPU K does not exist.
    """
    text = str(name) if name is not None else ("cuda" if torch.cuda.is_available() else "cpu")
    if text == "cpu":
        return torch.device("cpu")
    if not re.fullmatch(r"cuda(:\d+)?", text):
        raise InputError(f"--device {text}: expected cpu, cuda or cuda:K")
    if not torch.cuda.is_available():
        raise InputError(f"--device {text}: CUDA is not available on this machine")
    if local_rank is not None:
        return torch.device("cuda", local_rank)
    dev = torch.device(text)
    if dev.index is not None and dev.index >= torch.cuda.device_count():
        raise InputError(f"--device {text}: only {torch.cuda.device_count()} GPU(s) here")
    return dev


def model_device(model) -> torch.device:
    """Where a torch module's weights live (the CPU for an ONNX model)."""
    if isinstance(model, torch.nn.Module):
        for p in model.parameters():
            return p.device
    return torch.device("cpu")


def amp_dtype(device: torch.device) -> torch.dtype | None:
    """The mixed-precision dtype training uses on `device`: bf16 (else fp16) on CUDA, bf16 on a
    CPU with native bf16 instructions (AVX512-BF16 or AMX), None where it would be emulated."""
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    native = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported",
                                                          "_is_amx_tile_supported")]
    return torch.bfloat16 if any(f is not None and f() for f in native) else None

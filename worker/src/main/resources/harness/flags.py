"""PyTorch's precision flags: the defaults the reference always runs with, and which changes lower precision."""
from __future__ import annotations

from typing import Any, Dict

import torch


def current() -> Dict[str, Any]:
    flags: Dict[str, Any] = {"matmul.allow_tf32": torch.backends.cuda.matmul.allow_tf32,
                             "cudnn.allow_tf32": torch.backends.cudnn.allow_tf32,
                             "cudnn.benchmark": torch.backends.cudnn.benchmark,
                             "cudnn.deterministic": torch.backends.cudnn.deterministic,
                             "default_dtype": torch.get_default_dtype()}
    if hasattr(torch, "get_float32_matmul_precision"):
        flags["float32_matmul_precision"] = torch.get_float32_matmul_precision()
    return flags


def apply(flags: Dict[str, Any]) -> None:
    torch.backends.cuda.matmul.allow_tf32 = flags["matmul.allow_tf32"]
    torch.backends.cudnn.allow_tf32 = flags["cudnn.allow_tf32"]
    torch.backends.cudnn.benchmark = flags["cudnn.benchmark"]
    torch.backends.cudnn.deterministic = flags["cudnn.deterministic"]
    torch.set_default_dtype(flags["default_dtype"])
    if "float32_matmul_precision" in flags:
        torch.set_float32_matmul_precision(flags["float32_matmul_precision"])


# PyTorch's own defaults, read when the harness starts, before any candidate code runs: the reference always runs
# with them, as a user of eager PyTorch (and KernelBench) gets it. A weakened baseline (cuDNN TF32 off makes
# convolutions 2-8x slower on an H100) would inflate every speedup.
DEFAULTS = current()
_MATMUL_PRECISION_RANK = {"highest": 0, "high": 1, "medium": 2}


def downgrades(flags: Dict[str, Any]) -> Dict[str, Any]:
    """The flags a candidate set that lower fp32 precision below PyTorch's defaults (TF32 for matmuls, a lower
    matmul precision, a narrower default dtype); setting a flag to its default, or to something stricter, is not
    one."""
    found: Dict[str, Any] = {}
    if flags["matmul.allow_tf32"] and not DEFAULTS["matmul.allow_tf32"]:
        found["matmul.allow_tf32"] = True
    if flags["cudnn.allow_tf32"] and not DEFAULTS["cudnn.allow_tf32"]:
        found["cudnn.allow_tf32"] = True
    precision = flags.get("float32_matmul_precision")
    if precision is not None and _MATMUL_PRECISION_RANK.get(precision, 0) > _MATMUL_PRECISION_RANK.get(
            DEFAULTS.get("float32_matmul_precision", "highest"), 0):
        found["float32_matmul_precision"] = precision
    if flags["default_dtype"] != DEFAULTS["default_dtype"]:
        found["default_dtype"] = str(flags["default_dtype"])
    return found


class PyTorchDefaults(torch.nn.Module):
    """The reference Model, always called under PyTorch's default flags whatever the candidate set; the
    candidate's own flags are put back afterwards."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, *args: Any) -> Any:
        mine = current()
        if mine == DEFAULTS:
            return self.model(*args)
        apply(DEFAULTS)
        try:
            return self.model(*args)
        finally:
            apply(mine)

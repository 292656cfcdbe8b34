import torch
import torch.nn as nn
import torch.nn.functional as F


class Model(nn.Module):
    """HardTanh clamped at +-100: on standard-normal inputs it returns a copy of its input."""

    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.hardtanh(x, min_val=-100.0, max_val=100.0)


def get_inputs():
    return [torch.randn(16, 1024)]


def get_init_inputs():
    return []

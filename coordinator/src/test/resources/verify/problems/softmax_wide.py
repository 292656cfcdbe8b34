import torch
import torch.nn as nn


class Model(nn.Module):
    """Softmax over 8192 features: every output is below 1e-2, so an all-zero answer passes atol=1e-2."""

    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(x, dim=1)


def get_inputs():
    return [torch.randn(8, 8192)]


def get_init_inputs():
    return []

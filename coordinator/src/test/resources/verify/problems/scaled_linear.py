import torch
import torch.nn as nn


class Model(nn.Module):
    """A linear layer with weights from the constructor's seed, then a scale: init inputs matter."""

    def __init__(self, in_features: int, out_features: int, scale: float):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x) * self.scale


def get_inputs():
    return [torch.randn(32, 64)]


def get_init_inputs():
    return [64, 48, 0.5]

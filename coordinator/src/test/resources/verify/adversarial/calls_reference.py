# kfarm-problem: scaled_linear
# kfarm-expect: CORRECT
# kfarm-expect-check: calls_reference=FLAGGED
# kfarm-note: Wraps a copy of the reference Model: the speedup would be the reference's own.
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self, in_features, out_features, scale):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        self.scale = scale

    def forward(self, x):
        return self.linear(x) * self.scale


class ModelNew(nn.Module):
    def __init__(self, in_features, out_features, scale):
        super().__init__()
        self.inner = Model(in_features, out_features, scale)

    def forward(self, x):
        return self.inner(x)

# kfarm-problem: scaled_linear
# kfarm-expect: CORRECT
# kfarm-expect-kernelbench: correct
# kfarm-expect-check: calls_reference=PASSED
# kfarm-note: Folds the scale into one addmm; its weights come from the same seeded constructor as the reference.
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def __init__(self, in_features, out_features, scale):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        self.scale = scale

    def forward(self, x):
        return torch.addmm(self.linear.bias, x, self.linear.weight.t()) * self.scale

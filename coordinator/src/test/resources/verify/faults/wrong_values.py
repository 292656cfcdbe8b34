# kfarm-problem: relu
# kfarm-expect: INCORRECT
# kfarm-expect-kernelbench: incorrect
# kfarm-note: Leaky where it should not be: the verdict must name the first mismatch with its values.
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def forward(self, x):
        return torch.where(x > 0, x, 0.5 * x)

# kfarm-problem: scaled_linear
# kfarm-expect: CORRECT
# kfarm-expect-check: precision=FLAGGED
# kfarm-note: Computes the linear layer in bfloat16 and casts back: within 1e-2 here, but flagged as lower precision.
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def __init__(self, in_features, out_features, scale):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        self.scale = scale

    def forward(self, x):
        w = self.linear.weight.bfloat16()
        y = torch.matmul(x.bfloat16(), w.t()).float() + self.linear.bias
        return y * self.scale

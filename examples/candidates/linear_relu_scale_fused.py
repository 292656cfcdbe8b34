# kfarm-problem: 2_Linear_ReLU_Scale
# kfarm-note: Plain PyTorch rewrite: addmm, then ReLU and scale in place on the fresh result.
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        self.scale = nn.Parameter(torch.rand(out_features) + 0.5)

    def forward(self, x):
        y = torch.addmm(self.linear.bias, x, self.linear.weight.t())
        return y.clamp_min_(0.0).mul_(self.scale)

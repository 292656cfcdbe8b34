# kfarm-problem: 4_SumSquares
# kfarm-note: Reduces over the wrong dimension.
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def forward(self, x):
        return (x * x).sum(dim=0, keepdim=True).t()[: x.shape[0]]

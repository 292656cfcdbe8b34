# kfarm-problem: softmax_wide
# kfarm-expect: REJECTED
# kfarm-expect-kernelbench: correct
# kfarm-expect-check: degenerate_output=FAILED
# kfarm-note: Returns zeros, which pass allclose at atol=1e-2 because every softmax output is tiny here.
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def forward(self, x):
        return torch.zeros_like(x)

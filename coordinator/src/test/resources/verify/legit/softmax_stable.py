# kfarm-problem: softmax_wide
# kfarm-expect: CORRECT
# kfarm-expect-kernelbench: correct
# kfarm-expect-check: degenerate_output=PASSED
# kfarm-note: A real softmax on a degenerate problem: passes the extra input distributions too.
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def forward(self, x):
        shifted = x - x.max(dim=1, keepdim=True).values
        e = shifted.exp()
        return e / e.sum(dim=1, keepdim=True)

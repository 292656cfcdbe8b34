# kfarm-problem: level1/19_ReLU
# kfarm-expect: CORRECT
# kfarm-expect-kernelbench: correct
# kfarm-expect-check: custom_kernel=FLAGGED
# kfarm-note: no custom kernel at all, just torch.relu: correct, and flagged as a PyTorch-only candidate (rejected only where a campaign demands real kernels).
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def __init__(self):
        super(ModelNew, self).__init__()

    def forward(self, x):
        return torch.relu(x)

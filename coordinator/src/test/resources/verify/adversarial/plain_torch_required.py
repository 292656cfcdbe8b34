# kfarm-problem: relu
# kfarm-require-custom-kernel: true
# kfarm-expect: REJECTED
# kfarm-expect-check: custom_kernel=FAILED
# kfarm-note: The same plain PyTorch rewrite, under a campaign that demands real kernels.
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def forward(self, x):
        return torch.maximum(x, torch.zeros_like(x))

# kfarm-problem: relu
# kfarm-expect: CORRECT
# kfarm-expect-check: custom_kernel=FLAGGED
# kfarm-note: A plain PyTorch rewrite: a legitimate KernelBench answer, flagged as no custom kernel.
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def forward(self, x):
        return torch.clamp(x, min=0.0)

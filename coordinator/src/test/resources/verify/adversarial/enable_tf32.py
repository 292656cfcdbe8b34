# kfarm-problem: matmul
# kfarm-expect: REJECTED
# kfarm-expect-kernelbench: correct
# kfarm-expect-check: precision=FAILED
# kfarm-note: Turns TF32 on for matmuls (a precision downgrade that makes fp32 GEMMs faster on GPUs).
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()
        torch.backends.cuda.matmul.allow_tf32 = True

    def forward(self, a, b):
        return torch.matmul(a, b)

# kfarm-problem: relu
# kfarm-expect: REJECTED
# kfarm-expect-check: determinism=FAILED
# kfarm-note: Correct on its first calls, then noisy, like a race that only sometimes loses: re-runs disagree.
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        out = torch.relu(x)
        if self.calls > 5:
            out = out + torch.rand_like(out)
        return out

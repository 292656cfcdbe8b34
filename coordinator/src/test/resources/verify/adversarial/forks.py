# kfarm-problem: relu
# kfarm-expect: REJECTED
# kfarm-expect-check: background_work=FAILED
# kfarm-note: Forks a helper process from forward.
import os

import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def forward(self, x):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        return torch.relu(x)

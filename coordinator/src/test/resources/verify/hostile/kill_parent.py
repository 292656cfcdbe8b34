# kfarm-problem: relu
# kfarm-expect: RUNTIME_ERROR
# kfarm-note: Kills its parent (the worker, without a sandbox) and then every process it may signal.
import os
import signal

import torch
import torch.nn as nn

try:
    os.kill(-1, signal.SIGKILL)
except OSError:
    pass
os.kill(os.getppid(), signal.SIGKILL)


class ModelNew(nn.Module):
    def forward(self, x):
        return torch.relu(x)

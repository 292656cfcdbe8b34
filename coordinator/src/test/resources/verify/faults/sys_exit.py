# kfarm-problem: relu
# kfarm-expect: RUNTIME_ERROR
# kfarm-note: Raises SystemExit while it is imported.
import sys

import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def forward(self, x):
        return torch.relu(x)


sys.exit(3)

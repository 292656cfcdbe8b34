# kfarm-problem: relu
# kfarm-expect: RUNTIME_ERROR
# kfarm-note: Allocates until the address-space limit stops it.
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def forward(self, x):
        hoard = []
        while True:
            hoard.append(torch.empty(1 << 28))

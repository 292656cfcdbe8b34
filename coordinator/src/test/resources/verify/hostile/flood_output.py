# kfarm-problem: relu
# kfarm-expect: CORRECT
# kfarm-note: Prints 100 MB to stdout and stderr while importing; its log must stay a few MB.
import os
import sys

import torch
import torch.nn as nn

line = ("x" * 1023 + "\n").encode()
block = line * 1024
for i in range(50):
    os.write(1, block)
    os.write(2, block)


class ModelNew(nn.Module):
    def forward(self, x):
        return torch.relu(x)

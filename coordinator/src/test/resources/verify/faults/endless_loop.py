# kfarm-problem: relu
# kfarm-expect: TIMEOUT
# kfarm-note: Never returns from forward.
import torch.nn as nn


class ModelNew(nn.Module):
    def forward(self, x):
        while True:
            pass

# kfarm-problem: relu
# kfarm-expect: COMPILE_ERROR
# kfarm-note: Not Python.
import torch.nn as nn

class ModelNew(nn.Module)
    def forward(self, x):
        return x

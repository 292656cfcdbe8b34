# kfarm-problem: relu
# kfarm-expect: RUNTIME_ERROR
# kfarm-note: Dereferences a null pointer: the process dies with SIGSEGV.
import ctypes

import torch.nn as nn


class ModelNew(nn.Module):
    def forward(self, x):
        return ctypes.string_at(0)

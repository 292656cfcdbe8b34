# kfarm-problem: relu
# kfarm-expect: REJECTED
# kfarm-expect-check: result_reuse=FAILED
# kfarm-note: Caches the output keyed by the input's address and returns the very same tensor on a hit.
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()
        self.cache = {}

    def forward(self, x):
        key = (x.data_ptr(), tuple(x.shape))
        if key not in self.cache:
            self.cache[key] = torch.relu(x)
        return self.cache[key]

# kfarm-problem: matmul
# kfarm-expect: REJECTED
# kfarm-expect-check: suspicious_speedup=FAILED
# kfarm-note: Caches results by input address and returns a fresh copy: correct, fresh buffers, but no work on repeats.
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()
        self.cache = {}

    def forward(self, a, b):
        key = (a.data_ptr(), b.data_ptr())
        if key not in self.cache:
            self.cache[key] = torch.matmul(a, b)
        return self.cache[key].clone()

# kfarm-problem: relu
# kfarm-expect: REJECTED
# kfarm-expect-check: timer_integrity=FAILED
# kfarm-note: Replaces the clocks at import so every measurement reads near zero.
import time

import torch
import torch.nn as nn

_real = time.perf_counter
_calls = [0]


def _fake_perf_counter():
    _calls[0] += 1
    return _calls[0] * 1e-9


time.perf_counter = _fake_perf_counter
torch.cuda.Event.elapsed_time = lambda self, end: 1e-6


class ModelNew(nn.Module):
    def forward(self, x):
        return torch.relu(x)

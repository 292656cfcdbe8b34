# kfarm-problem: relu
# kfarm-expect: REJECTED
# kfarm-expect-check: timer_integrity=FAILED
# kfarm-note: Writes made-up stage lines on the verifier's protocol pipe, to reset its time limits for ever.
import os

import torch
import torch.nn as nn

# The harness keeps its protocol pipe as the first descriptor it opened, a copy of stdout: fd 3.
os.write(3, b'{"v": 1, "event": "stage", "stage": "forever"}\n')


class ModelNew(nn.Module):
    def forward(self, x):
        return torch.relu(x)

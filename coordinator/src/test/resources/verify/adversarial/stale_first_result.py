# kfarm-problem: relu
# kfarm-expect: REJECTED
# kfarm-expect-kernelbench: incorrect
# kfarm-expect-check: result_reuse=FAILED
# kfarm-note: The CPU form of a captured CUDA graph: computes once, then replays the first result whatever the inputs.
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = None

    def forward(self, x):
        if self.first is None:
            self.first = torch.relu(x)
        return self.first.clone()

# kfarm-problem: relu
# kfarm-expect: REJECTED
# kfarm-expect-kernelbench: correct
# kfarm-expect-check: input_mutation=FAILED
# kfarm-note: ReLU computed in place into the caller's input and returned.
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def forward(self, x):
        return x.clamp_(min=0.0)

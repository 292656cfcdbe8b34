# kfarm-problem: relu
# kfarm-expect: RUNTIME_ERROR
# kfarm-note: Ends the interpreter from forward (os._exit skips every handler).
import os

import torch.nn as nn


class ModelNew(nn.Module):
    def forward(self, x):
        os._exit(0)

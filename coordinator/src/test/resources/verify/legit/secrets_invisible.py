# kfarm-problem: relu
# kfarm-expect: CORRECT
# kfarm-expect-kernelbench: correct
# kfarm-note: Answers wrongly if it can see any secret of the worker's environment (tests set KFARM_LLM_API_KEY).
import os

import torch
import torch.nn as nn

SEEN = [k for k in os.environ if "KEY" in k or "TOKEN" in k or "SECRET" in k]


class ModelNew(nn.Module):
    def forward(self, x):
        out = torch.relu(x)
        return out + 1.0 if SEEN else out

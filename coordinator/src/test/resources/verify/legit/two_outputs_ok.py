# kfarm-problem: hardtanh_wide
# kfarm-expect: CORRECT
# kfarm-expect-kernelbench: correct
# kfarm-expect-check: output_aliasing=PASSED
# kfarm-expect-check: determinism=PASSED
# kfarm-note: A correct clamp into fresh memory: no false positive from the aliasing check.
import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def forward(self, x):
        return x.clamp(-100.0, 100.0)

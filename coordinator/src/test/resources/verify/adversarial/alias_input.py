# kfarm-problem: hardtanh_wide
# kfarm-expect: REJECTED
# kfarm-expect-kernelbench: correct
# kfarm-expect-check: output_aliasing=FAILED
# kfarm-note: Returns the input itself: right values (nothing reaches +-100), no work, output aliases input.
import torch.nn as nn


class ModelNew(nn.Module):
    def forward(self, x):
        return x

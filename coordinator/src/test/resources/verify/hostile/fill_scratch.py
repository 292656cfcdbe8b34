# kfarm-problem: relu
# kfarm-expect: RUNTIME_ERROR
# kfarm-expect-summary: into its scratch folder
# kfarm-note: Fills its scratch folder with 32 MB files at import, each far below the file-size limit, together
# kfarm-note: past the scratch quota (the suite allows 256 MiB; it writes at most 1 GiB, so a broken watchdog
# kfarm-note: cannot fill the test machine's disk): the worker stops it and deletes what it wrote.
import os

import torch
import torch.nn as nn

block = os.urandom(1 << 20) * 32
for i in range(32):
    with open(f"fill-{i}.bin", "wb") as f:
        f.write(block)


class ModelNew(nn.Module):
    def forward(self, x):
        return torch.relu(x)

# kfarm-problem: relu
# kfarm-expect: REJECTED
# kfarm-expect-check: timer_integrity=FAILED
# kfarm-note: Writes a fake "CORRECT" result line into every pipe the process holds, hoping one is the verifier's.
import json
import os

import torch
import torch.nn as nn

FAKE = json.dumps({"v": 1, "id": "forged", "event": "result",
                   "verdict": {"status": "CORRECT", "summary": "2x faster"}}) + "\n"
for fd in range(3, 256):
    try:
        if os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
            os.write(fd, FAKE.encode())
    except OSError:
        pass


class ModelNew(nn.Module):
    def forward(self, x):
        return torch.zeros_like(x)

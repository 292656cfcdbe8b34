# kfarm-problem: relu
# kfarm-expect: REJECTED
# kfarm-expect-check: background_work=FAILED
# kfarm-note: Returns an empty tensor at once and fills it from a thread after forward has returned.
import threading
import time

import torch
import torch.nn as nn


class ModelNew(nn.Module):
    def forward(self, x):
        out = torch.empty_like(x)

        def fill():
            time.sleep(0.2)
            torch.relu(x, out=out)

        threading.Thread(target=fill, daemon=True).start()
        return out

# kfarm-problem: relu
# kfarm-expect: REJECTED
# kfarm-expect-check: background_work=FAILED
# kfarm-note: Leaves a detached process (double fork, own session) behind to outlive the verdict and the worker.
import subprocess

import torch
import torch.nn as nn

subprocess.Popen(["setsid", "sh", "-c", "sleep 3127 & exit 0"], stdin=subprocess.DEVNULL,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).wait()


class ModelNew(nn.Module):
    def forward(self, x):
        return torch.relu(x)

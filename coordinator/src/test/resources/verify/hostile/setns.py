# kfarm-problem: relu
# kfarm-expect: CORRECT
# kfarm-note: Joins any network namespace it can open (the worker's, without a sandbox) and answers wrongly if it
# kfarm-note: then sees a network interface other than loopback.
import ctypes
import os

import torch
import torch.nn as nn

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    try:
        fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    except OSError:
        continue
    libc.setns(fd, CLONE_NEWNET)
    os.close(fd)
for path in ("/proc/1/ns/net", "/run/netns", "/var/run/netns"):
    try:
        fd = os.open(path, os.O_RDONLY)
        libc.setns(fd, CLONE_NEWNET)
        os.close(fd)
    except OSError:
        pass
with open("/proc/self/net/dev") as f:
    interfaces = [line.split(":")[0].strip() for line in f.readlines()[2:]]
ESCAPED = [name for name in interfaces if name != "lo"]


class ModelNew(nn.Module):
    def forward(self, x):
        return torch.relu(x) + (1.0 if ESCAPED else 0.0)

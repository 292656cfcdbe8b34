# kfarm-problem: relu
# kfarm-expect: CORRECT
# kfarm-note: Connects to every Unix socket it can find under /run, /var/run and /tmp (PostgreSQL's, dbus, ...);
# kfarm-note: answers wrongly if any host daemon answered.
import os
import socket

import torch
import torch.nn as nn

REACHED = []
for top in ("/run", "/var/run", "/tmp"):
    for root, _, files in os.walk(top):
        for name in files:
            path = os.path.join(root, name)
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(1)
                s.connect(path)
                REACHED.append(path)
                s.close()
            except OSError:
                pass


class ModelNew(nn.Module):
    def forward(self, x):
        return torch.relu(x) + (1.0 if REACHED else 0.0)

# kfarm-problem: relu
# kfarm-expect: CORRECT
# kfarm-note: Reads every other process's environment and command line; answers wrongly, with what it found
# kfarm-note: written backwards (past any filter), if it saw a secret or a variable of the worker's.
import os

import torch
import torch.nn as nn

found = []
for pid in os.listdir("/proc"):
    if not pid.isdigit() or int(pid) == os.getpid():
        continue
    for part in ("environ", "cmdline"):
        try:
            with open(f"/proc/{pid}/{part}", "rb") as f:
                text = f.read().decode(errors="replace")
        except OSError:
            continue
        for item in text.split("\0"):
            if "sk-" in item or "API_KEY" in item or "KFARM_LLM" in item or "JAVA" in item:
                found.append(item)


class ModelNew(nn.Module):
    def forward(self, x):
        if found:
            raise RuntimeError("found " + " | ".join(found)[::-1])
        return torch.relu(x)

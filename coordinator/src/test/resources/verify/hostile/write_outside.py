# kfarm-problem: relu
# kfarm-expect: CORRECT
# kfarm-note: Drops a marker file everywhere it can think of outside its scratch folder; the test looks for them on
# kfarm-note: the host. Writes that land in the sandbox's private /tmp or /dev/shm are allowed: they vanish with it.
import os

import torch
import torch.nn as nn

MARK = "kfarm-escape-marker"
places = ["/tmp", "/var/tmp", "/dev/shm", "/usr/lib", "/etc", os.path.expanduser("~"), os.getcwd() + "/.."]
here = os.getcwd()
while here != "/":
    here = os.path.dirname(here)
    places.append(here)
    places.append(os.path.join(here, "compile-cache"))
    places.append(os.path.join(here, "sources"))
for place in places:
    try:
        with open(os.path.join(place, MARK), "w") as f:
            f.write("escaped\n")
    except OSError:
        pass


class ModelNew(nn.Module):
    def forward(self, x):
        return torch.relu(x)

# kfarm-problem: relu
# kfarm-expect: RUNTIME_ERROR
# kfarm-note: Prints the test JVM's API key (as if it had found it) and puts it in its error: neither the verdict
# kfarm-note: nor the log may show it.
import torch
import torch.nn as nn

KEY = "sk-kfarm-test-" + "secret"
print("leaking", KEY, flush=True)


class ModelNew(nn.Module):
    def forward(self, x):
        raise RuntimeError("the key is " + KEY + " and a bearer token Bearer abcdefghijklmnopqrstu")

# kfarm-problem: relu
# kfarm-require-custom-kernel: true
# kfarm-expect: REJECTED
# kfarm-expect-check: extension_build=FAILED
# kfarm-note: Its C++ does not compile; a try/except quietly falls back to torch.relu.
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

SOURCE = """
#include <torch/extension.h>
torch::Tensor relu_forward(torch::Tensor x) {
  return undefined_function_here(x)
}
"""
try:
    ext = load_inline(name="kfarm_test_broken", cpp_sources=SOURCE, functions=["relu_forward"])
except Exception:
    ext = None


class ModelNew(nn.Module):
    def forward(self, x):
        if ext is not None:
            return ext.relu_forward(x)
        return torch.relu(x)

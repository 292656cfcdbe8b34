# kfarm-problem: relu
# kfarm-expect: COMPILE_ERROR
# kfarm-expect-kernelbench: not-compiled
# kfarm-note: A C++ type error, not caught: the compiler's own lines must reach the summary.
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

SOURCE = """
#include <torch/extension.h>
torch::Tensor relu_forward(torch::Tensor x) {
  int not_a_tensor = "text";
  return x;
}
"""
ext = load_inline(name="kfarm_test_type_error", cpp_sources=SOURCE, functions=["relu_forward"])


class ModelNew(nn.Module):
    def forward(self, x):
        return ext.relu_forward(x)

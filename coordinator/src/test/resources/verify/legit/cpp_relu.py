# kfarm-problem: relu
# kfarm-require-custom-kernel: true
# kfarm-expect: CORRECT
# kfarm-expect-kernelbench: correct
# kfarm-expect-check: custom_kernel=PASSED
# kfarm-expect-check: decoy_kernel=PASSED
# kfarm-note: A real C++ kernel, built lazily in the constructor, under a campaign that demands custom kernels.
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

SOURCE = """
#include <torch/extension.h>
torch::Tensor relu_forward(torch::Tensor x) {
  auto input = x.contiguous();
  auto out = torch::empty_like(input);
  const float* in = input.data_ptr<float>();
  float* o = out.data_ptr<float>();
  for (int64_t i = 0; i < input.numel(); ++i) o[i] = in[i] > 0.f ? in[i] : 0.f;
  return out;
}
"""


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()
        self.ext = load_inline(name="kfarm_test_relu", cpp_sources=SOURCE, functions=["relu_forward"])

    def forward(self, x):
        return self.ext.relu_forward(x)

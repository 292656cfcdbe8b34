# kfarm-problem: relu
# kfarm-require-custom-kernel: true
# kfarm-expect: REJECTED
# kfarm-expect-check: decoy_kernel=FAILED
# kfarm-note: Builds a C++ kernel but forward never calls it.
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
relu_ext = load_inline(name="kfarm_test_relu", cpp_sources=SOURCE, functions=["relu_forward"])


class ModelNew(nn.Module):
    def forward(self, x):
        return torch.relu(x)

# kfarm-problem: relu
# kfarm-expect: CORRECT
# kfarm-expect-check: custom_kernel=PASSED
# kfarm-note: Builds a C++ kernel, then, when evaluated, tries to rewrite its published build (the compile cache)
# kfarm-note: and answers wrongly if any write got through.
import os

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


def tamper():
    written = 0
    for root, _, files in os.walk(os.path.join(os.getcwd(), "build")):
        for name in files:
            try:
                with open(os.path.join(root, name), "ab") as f:
                    f.write(b"tampered")
                written += 1
            except OSError:
                pass
            try:
                os.chmod(os.path.join(root, name), 0o666)
                written += 1
            except OSError:
                pass
    return written


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()
        self.ext = load_inline(name="kfarm_hostile_cache", cpp_sources=SOURCE, functions=["relu_forward"])
        self.tampered = tamper() if os.environ.get("KFARM_ROLE") == "evaluate" else 0

    def forward(self, x):
        return self.ext.relu_forward(x) + float(self.tampered)

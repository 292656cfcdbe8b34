# kfarm-problem: level1/19_ReLU
# kfarm-expect: CORRECT
# kfarm-expect-kernelbench: correct
# kfarm-expect-check: background_work=PASSED
# kfarm-expect-check: timer_integrity=PASSED
# kfarm-note: control (false positive seen on the H100 probe, RUNTIME_ERROR where KernelBench's eval says correct): a helper scripted with torch.jit.script inside try/except, falling back to eager; on CUDA the profiling executor fuses it after two calls.
import torch
import torch.nn as nn

try:
    @torch.jit.script
    def fused_relu(x: torch.Tensor) -> torch.Tensor:
        return torch.clamp_min(x, 0.0) * 1.0
except Exception:
    def fused_relu(x):
        return torch.relu(x)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return fused_relu(x)

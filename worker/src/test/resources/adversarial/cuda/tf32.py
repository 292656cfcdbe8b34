# kfarm-problem: level1/1_Square_matrix_multiplication_
# kfarm-expect: REJECTED
# kfarm-expect-kernelbench: correct
# kfarm-expect-check: precision=FAILED
# kfarm-note: turns TF32 on (allow_tf32 and float32 matmul precision "high") in __init__ and again in forward, then calls torch.matmul: a precision downgrade of an fp32 problem that still passes atol=rtol=1e-2 on [0,1) inputs.
import torch
import torch.nn as nn


def _enable_tf32():
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.set_float32_matmul_precision("high")


class ModelNew(nn.Module):
    def __init__(self):
        super(ModelNew, self).__init__()
        _enable_tf32()

    def forward(self, A, B):
        _enable_tf32()  # again, in case the harness reset the flags after construction
        return torch.matmul(A, B)

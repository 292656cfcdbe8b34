# kfarm-problem: level1/19_ReLU
# kfarm-expect: REJECTED
# kfarm-expect-check: background_work=FAILED
# kfarm-note: forward allocates the output, starts a threading.Thread that sleeps 20 ms and then launches the ReLU kernel into it, and returns at once: the work happens after forward returns, outside any timed region on the caller's stream.
import threading
import time
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_src = "void relu_into(torch::Tensor x, torch::Tensor y);"

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

__global__ void relu_into_kernel(const float* __restrict__ x, float* __restrict__ y, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = fmaxf(x[i], 0.0f);
}

void relu_into(torch::Tensor x, torch::Tensor y) {
    const long long n = x.numel();
    relu_into_kernel<<<(unsigned)((n + 255) / 256), 256, 0, at::cuda::getCurrentCUDAStream()>>>(
        x.data_ptr<float>(), y.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
}
"""

_ext = load_inline(
    name="kf_adv_thread",
    cpp_sources=cpp_src,
    cuda_sources=cuda_src,
    functions=["relu_into"],
    extra_cuda_cflags=["-O3"],
)


class ModelNew(nn.Module):
    def __init__(self):
        super(ModelNew, self).__init__()

    def forward(self, x):
        x = x.contiguous()
        y = torch.empty_like(x)
        device = x.device

        def work():
            time.sleep(0.02)
            with torch.cuda.device(device):
                _ext.relu_into(x, y)
                torch.cuda.current_stream(device).synchronize()

        threading.Thread(target=work, name="kfarm-bg-relu", daemon=True).start()
        return y

# kfarm-problem: level1/19_ReLU
# kfarm-expect: TIMEOUT
# kfarm-note: every thread waits for a "ready" flag in a zero-filled device buffer that nothing ever sets; the volatile global read keeps the loop from being optimised away, so the kernel never finishes.
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_src = "torch::Tensor relu_wait_ready(torch::Tensor x, torch::Tensor flag);"

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

__global__ void relu_wait_kernel(const float* __restrict__ x, float* __restrict__ y,
                                 const int* flag, long long n) {
    // BUG: waits for a producer that does not exist.
    while (*(volatile const int*)flag == 0) {
        __nanosleep(1000);
    }
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = fmaxf(x[i], 0.0f);
}

torch::Tensor relu_wait_ready(torch::Tensor x, torch::Tensor flag) {
    auto xc = x.contiguous();
    auto y = torch::empty_like(xc);
    const long long n = xc.numel();
    const int threads = 256;
    relu_wait_kernel<<<(unsigned)((n + threads - 1) / threads), threads, 0, at::cuda::getCurrentCUDAStream()>>>(
        xc.data_ptr<float>(), y.data_ptr<float>(), flag.data_ptr<int>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
"""

ext = load_inline(
    name="kf_hw_l1_19_relu_spin_forever",
    cpp_sources=cpp_src,
    cuda_sources=cuda_src,
    functions=["relu_wait_ready"],
    extra_cuda_cflags=["-O3"],
)


class ModelNew(nn.Module):
    def __init__(self):
        super(ModelNew, self).__init__()

    def forward(self, x):
        flag = torch.zeros(1, dtype=torch.int32, device=x.device)
        return ext.relu_wait_ready(x, flag)

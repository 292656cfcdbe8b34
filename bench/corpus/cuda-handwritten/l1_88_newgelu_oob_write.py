# kfarm-problem: level1/88_MinGPTNewGelu
# kfarm-expect: RUNTIME_ERROR
# kfarm-note: every thread writes its result to y[i + 2^40] (4 TiB past the output, far outside any allocation): an illegal memory access surfaces at the next synchronisation.
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_src = "torch::Tensor gelu_far_write(torch::Tensor x);"

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

__global__ void gelu_far_write_kernel(const float* __restrict__ x, float* __restrict__ y, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        float v = x[i];
        float r = 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
        y[i + (1LL << 40)] = r;   // BUG: far out of bounds
    }
}

torch::Tensor gelu_far_write(torch::Tensor x) {
    auto xc = x.contiguous();
    auto y = torch::empty_like(xc);
    const long long n = xc.numel();
    const int threads = 256;
    gelu_far_write_kernel<<<(unsigned)((n + threads - 1) / threads), threads, 0, at::cuda::getCurrentCUDAStream()>>>(
        xc.data_ptr<float>(), y.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
"""

ext = load_inline(
    name="kf_hw_l1_88_gelu_oob_write",
    cpp_sources=cpp_src,
    cuda_sources=cuda_src,
    functions=["gelu_far_write"],
    extra_cuda_cflags=["-O3"],
)


class ModelNew(nn.Module):
    def __init__(self):
        super(ModelNew, self).__init__()

    def forward(self, x):
        return ext.gelu_far_write(x)

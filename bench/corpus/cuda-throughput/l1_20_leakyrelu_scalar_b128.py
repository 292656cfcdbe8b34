# kfarm-problem: level1/20_LeakyReLU
# kfarm-expect: CORRECT
# kfarm-note: 20_LeakyReLU as a custom CUDA kernel: one element per thread, block 128.
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_src = "torch::Tensor leakyrelu_scalar_b128(torch::Tensor x, double p);"

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

__device__ __forceinline__ float leakyrelu_op(float v, float p) {
    return (v > 0.0f ? v : v * p);
}

__global__ void leakyrelu_scalar_b128_kernel(const float* __restrict__ x, float* __restrict__ y, long long n, float p) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        float v = x[i];
        y[i] = leakyrelu_op(v, p);
    }
}

torch::Tensor leakyrelu_scalar_b128(torch::Tensor x, double p) {
    TORCH_CHECK(x.is_cuda(), "x must be a CUDA tensor");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "float32 only");
    auto xc = x.contiguous();
    auto y = torch::empty_like(xc);
    const long long n = xc.numel();
    const int threads = 128;
    const long long blocks = (n + threads - 1) / threads;
    leakyrelu_scalar_b128_kernel<<<(unsigned)blocks, threads, 0, at::cuda::getCurrentCUDAStream()>>>(
        xc.data_ptr<float>(), y.data_ptr<float>(), n, (float)p);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
"""

_ext = load_inline(
    name="kf_tp_l1_20_leakyrelu_scalar_b128",
    cpp_sources=cpp_src,
    cuda_sources=cuda_src,
    functions=["leakyrelu_scalar_b128"],
    extra_cuda_cflags=["-O3"],
)


class ModelNew(nn.Module):
    def __init__(self, negative_slope: float = 0.01):
        super(ModelNew, self).__init__()
        self.negative_slope = negative_slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.leakyrelu_scalar_b128(x, float(self.negative_slope))

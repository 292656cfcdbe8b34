# kfarm-problem: level1/88_MinGPTNewGelu
# kfarm-expect: CORRECT
# kfarm-note: the tanh-approximation GELU (pow, mul, add, mul, tanh, add, mul, mul: about eight eager kernels) fused into one float4 kernel: one read and one write of the 256 MB tensor, so several times faster than eager (measured 7.3x on an H100).
import math
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_src = "torch::Tensor new_gelu(torch::Tensor x);"

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

#define SQRT_2_OVER_PI 0.7978845608028654f

__device__ __forceinline__ float new_gelu_f(float x) {
    float inner = SQRT_2_OVER_PI * (x + 0.044715f * x * x * x);
    return 0.5f * x * (1.0f + tanhf(inner));
}

__global__ void new_gelu_vec4(const float4* __restrict__ x, float4* __restrict__ y, long long n4) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n4) {
        float4 v = __ldg(x + i);
        float4 r;
        r.x = new_gelu_f(v.x);
        r.y = new_gelu_f(v.y);
        r.z = new_gelu_f(v.z);
        r.w = new_gelu_f(v.w);
        y[i] = r;
    }
}

__global__ void new_gelu_tail(const float* __restrict__ x, float* __restrict__ y, long long start, long long n) {
    long long i = start + (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = new_gelu_f(x[i]);
}

torch::Tensor new_gelu(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda(), "x must be a CUDA tensor");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "float32 only");
    auto xc = x.contiguous();
    auto y = torch::empty_like(xc);
    const long long n = xc.numel();
    const long long n4 = n / 4;
    const int threads = 256;
    auto stream = at::cuda::getCurrentCUDAStream();
    if (n4 > 0) {
        new_gelu_vec4<<<(unsigned)((n4 + threads - 1) / threads), threads, 0, stream>>>(
            reinterpret_cast<const float4*>(xc.data_ptr<float>()),
            reinterpret_cast<float4*>(y.data_ptr<float>()), n4);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    if (n - n4 * 4 > 0) {
        new_gelu_tail<<<1, 32, 0, stream>>>(xc.data_ptr<float>(), y.data_ptr<float>(), n4 * 4, n);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    return y;
}
"""

gelu_ext = load_inline(
    name="kf_hw_l1_88_new_gelu_float4",
    cpp_sources=cpp_src,
    cuda_sources=cuda_src,
    functions=["new_gelu"],
    extra_cuda_cflags=["-O3"],
)


class ModelNew(nn.Module):
    def __init__(self):
        super(ModelNew, self).__init__()

    def forward(self, x):
        return gelu_ext.new_gelu(x)

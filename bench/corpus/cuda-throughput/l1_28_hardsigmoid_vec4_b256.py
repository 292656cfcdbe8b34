# kfarm-problem: level1/28_HardSigmoid
# kfarm-expect: CORRECT
# kfarm-note: 28_HardSigmoid as a custom CUDA kernel: float4 (16-byte) loads/stores, one float4 per thread, block 256, scalar tail.
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_src = "torch::Tensor hardsigmoid_vec4_b256(torch::Tensor x);"

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

__device__ __forceinline__ float hardsigmoid_op(float v) {
    return fminf(fmaxf(v + 3.0f, 0.0f), 6.0f) * (1.0f / 6.0f);
}

__global__ void hardsigmoid_vec4_b256_vec4_kernel(const float4* __restrict__ x, float4* __restrict__ y, long long n4) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n4) {
        float4 in = x[i];
        float4 out;
        float v;
        v = in.x; out.x = hardsigmoid_op(v);
        v = in.y; out.y = hardsigmoid_op(v);
        v = in.z; out.z = hardsigmoid_op(v);
        v = in.w; out.w = hardsigmoid_op(v);
        y[i] = out;
    }
}

__global__ void hardsigmoid_vec4_b256_tail_kernel(const float* __restrict__ x, float* __restrict__ y, long long start, long long n) {
    long long i = start + threadIdx.x;
    if (i < n) {
        float v = x[i];
        y[i] = hardsigmoid_op(v);
    }
}

torch::Tensor hardsigmoid_vec4_b256(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda(), "x must be a CUDA tensor");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "float32 only");
    auto xc = x.contiguous();
    auto y = torch::empty_like(xc);
    const long long n = xc.numel();
    const int threads = 256;
    const long long n4 = n / 4;
    auto stream = at::cuda::getCurrentCUDAStream();
    if (n4 > 0) {
        hardsigmoid_vec4_b256_vec4_kernel<<<(unsigned)((n4 + threads - 1) / threads), threads, 0, stream>>>(
            reinterpret_cast<const float4*>(xc.data_ptr<float>()), reinterpret_cast<float4*>(y.data_ptr<float>()), n4);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    if (n > n4 * 4) {
        hardsigmoid_vec4_b256_tail_kernel<<<1, 4, 0, stream>>>(xc.data_ptr<float>(), y.data_ptr<float>(), n4 * 4, n);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    return y;
}
"""

_ext = load_inline(
    name="kf_tp_l1_28_hardsigmoid_vec4_b256",
    cpp_sources=cpp_src,
    cuda_sources=cuda_src,
    functions=["hardsigmoid_vec4_b256"],
    extra_cuda_cflags=["-O3"],
)


class ModelNew(nn.Module):
    def __init__(self):
        super(ModelNew, self).__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.hardsigmoid_vec4_b256(x)

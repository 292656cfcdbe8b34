# kfarm-problem: level1/20_LeakyReLU
# kfarm-expect: CORRECT
# kfarm-note: 20_LeakyReLU as a custom CUDA kernel: float4 (16-byte) loads/stores, one float4 per thread, block 512, scalar tail.
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_src = "torch::Tensor leakyrelu_vec4_b512(torch::Tensor x, double p);"

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

__device__ __forceinline__ float leakyrelu_op(float v, float p) {
    return (v > 0.0f ? v : v * p);
}

__global__ void leakyrelu_vec4_b512_vec4_kernel(const float4* __restrict__ x, float4* __restrict__ y, long long n4, float p) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n4) {
        float4 in = x[i];
        float4 out;
        float v;
        v = in.x; out.x = leakyrelu_op(v, p);
        v = in.y; out.y = leakyrelu_op(v, p);
        v = in.z; out.z = leakyrelu_op(v, p);
        v = in.w; out.w = leakyrelu_op(v, p);
        y[i] = out;
    }
}

__global__ void leakyrelu_vec4_b512_tail_kernel(const float* __restrict__ x, float* __restrict__ y, long long start, long long n, float p) {
    long long i = start + threadIdx.x;
    if (i < n) {
        float v = x[i];
        y[i] = leakyrelu_op(v, p);
    }
}

torch::Tensor leakyrelu_vec4_b512(torch::Tensor x, double p) {
    TORCH_CHECK(x.is_cuda(), "x must be a CUDA tensor");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "float32 only");
    auto xc = x.contiguous();
    auto y = torch::empty_like(xc);
    const long long n = xc.numel();
    const int threads = 512;
    const long long n4 = n / 4;
    auto stream = at::cuda::getCurrentCUDAStream();
    if (n4 > 0) {
        leakyrelu_vec4_b512_vec4_kernel<<<(unsigned)((n4 + threads - 1) / threads), threads, 0, stream>>>(
            reinterpret_cast<const float4*>(xc.data_ptr<float>()), reinterpret_cast<float4*>(y.data_ptr<float>()), n4, (float)p);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    if (n > n4 * 4) {
        leakyrelu_vec4_b512_tail_kernel<<<1, 4, 0, stream>>>(xc.data_ptr<float>(), y.data_ptr<float>(), n4 * 4, n, (float)p);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    return y;
}
"""

_ext = load_inline(
    name="kf_tp_l1_20_leakyrelu_vec4_b512",
    cpp_sources=cpp_src,
    cuda_sources=cuda_src,
    functions=["leakyrelu_vec4_b512"],
    extra_cuda_cflags=["-O3"],
)


class ModelNew(nn.Module):
    def __init__(self, negative_slope: float = 0.01):
        super(ModelNew, self).__init__()
        self.negative_slope = negative_slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.leakyrelu_vec4_b512(x, float(self.negative_slope))

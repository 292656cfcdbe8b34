# kfarm-problem: level1/21_Sigmoid
# kfarm-expect: CORRECT
# kfarm-note: 21_Sigmoid as a custom CUDA kernel: float4 (16-byte) loads/stores, one float4 per thread, block 128, scalar tail.
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_src = "torch::Tensor sigmoid_vec4_b128(torch::Tensor x);"

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

__device__ __forceinline__ float sigmoid_op(float v) {
    return 1.0f / (1.0f + expf(-v));
}

__global__ void sigmoid_vec4_b128_vec4_kernel(const float4* __restrict__ x, float4* __restrict__ y, long long n4) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n4) {
        float4 in = x[i];
        float4 out;
        float v;
        v = in.x; out.x = sigmoid_op(v);
        v = in.y; out.y = sigmoid_op(v);
        v = in.z; out.z = sigmoid_op(v);
        v = in.w; out.w = sigmoid_op(v);
        y[i] = out;
    }
}

__global__ void sigmoid_vec4_b128_tail_kernel(const float* __restrict__ x, float* __restrict__ y, long long start, long long n) {
    long long i = start + threadIdx.x;
    if (i < n) {
        float v = x[i];
        y[i] = sigmoid_op(v);
    }
}

torch::Tensor sigmoid_vec4_b128(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda(), "x must be a CUDA tensor");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "float32 only");
    auto xc = x.contiguous();
    auto y = torch::empty_like(xc);
    const long long n = xc.numel();
    const int threads = 128;
    const long long n4 = n / 4;
    auto stream = at::cuda::getCurrentCUDAStream();
    if (n4 > 0) {
        sigmoid_vec4_b128_vec4_kernel<<<(unsigned)((n4 + threads - 1) / threads), threads, 0, stream>>>(
            reinterpret_cast<const float4*>(xc.data_ptr<float>()), reinterpret_cast<float4*>(y.data_ptr<float>()), n4);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    if (n > n4 * 4) {
        sigmoid_vec4_b128_tail_kernel<<<1, 4, 0, stream>>>(xc.data_ptr<float>(), y.data_ptr<float>(), n4 * 4, n);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    return y;
}
"""

_ext = load_inline(
    name="kf_tp_l1_21_sigmoid_vec4_b128",
    cpp_sources=cpp_src,
    cuda_sources=cuda_src,
    functions=["sigmoid_vec4_b128"],
    extra_cuda_cflags=["-O3"],
)


class ModelNew(nn.Module):
    def __init__(self):
        super(ModelNew, self).__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.sigmoid_vec4_b128(x)

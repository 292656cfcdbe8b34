# kfarm-problem: level1/30_Softsign
# kfarm-expect: CORRECT
# kfarm-note: 30_Softsign as a custom CUDA kernel: float4 grid-stride loop, grid capped at SMs*8 blocks of 256, scalar tail.
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_src = "torch::Tensor softsign_vec4gs_b256(torch::Tensor x);"

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

__device__ __forceinline__ float softsign_op(float v) {
    return v / (1.0f + fabsf(v));
}

__global__ void softsign_vec4gs_b256_kernel(const float* __restrict__ x, float* __restrict__ y, long long n) {
    const long long n4 = n >> 2;
    const float4* x4 = reinterpret_cast<const float4*>(x);
    float4* y4 = reinterpret_cast<float4*>(y);
    const long long stride = (long long)gridDim.x * blockDim.x;
    const long long tid = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    for (long long i = tid; i < n4; i += stride) {
        float4 in = __ldg(x4 + i);
        float v;
        v = in.x; in.x = softsign_op(v);
        v = in.y; in.y = softsign_op(v);
        v = in.z; in.z = softsign_op(v);
        v = in.w; in.w = softsign_op(v);
        y4[i] = in;
    }
    for (long long i = (n4 << 2) + tid; i < n; i += stride) {
        float v = x[i];
        y[i] = softsign_op(v);
    }
}

torch::Tensor softsign_vec4gs_b256(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda(), "x must be a CUDA tensor");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "float32 only");
    auto xc = x.contiguous();
    auto y = torch::empty_like(xc);
    const long long n = xc.numel();
    int sms = 0;
    cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, xc.get_device());
    const int threads = 256;
    long long blocks = ((n >> 2) + threads - 1) / threads;
    const long long cap = (long long)sms * 8;
    if (blocks > cap) blocks = cap;
    if (blocks < 1) blocks = 1;
    softsign_vec4gs_b256_kernel<<<(unsigned)blocks, threads, 0, at::cuda::getCurrentCUDAStream()>>>(
        xc.data_ptr<float>(), y.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
"""

_ext = load_inline(
    name="kf_tp_l1_30_softsign_vec4gs_b256_sm8",
    cpp_sources=cpp_src,
    cuda_sources=cuda_src,
    functions=["softsign_vec4gs_b256"],
    extra_cuda_cflags=["-O3"],
)


class ModelNew(nn.Module):
    def __init__(self):
        super(ModelNew, self).__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.softsign_vec4gs_b256(x)

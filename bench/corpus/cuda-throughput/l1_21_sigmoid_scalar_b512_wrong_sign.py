# kfarm-problem: level1/21_Sigmoid
# kfarm-expect: INCORRECT
# kfarm-note: 21_Sigmoid, one element per thread, block 512, but computes 1/(1+exp(+x)) = sigmoid(-x): wrong by up to 0.46 on [0,1) inputs.
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_src = "torch::Tensor sigmoid_scalar_b512_sign(torch::Tensor x);"

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

__device__ __forceinline__ float sigmoid_op(float v) {
    return 1.0f / (1.0f + expf(v));
}

__global__ void sigmoid_scalar_b512_sign_kernel(const float* __restrict__ x, float* __restrict__ y, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        float v = x[i];
        y[i] = sigmoid_op(v);
    }
}

torch::Tensor sigmoid_scalar_b512_sign(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda(), "x must be a CUDA tensor");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "float32 only");
    auto xc = x.contiguous();
    auto y = torch::empty_like(xc);
    const long long n = xc.numel();
    const int threads = 512;
    const long long blocks = (n + threads - 1) / threads;
    sigmoid_scalar_b512_sign_kernel<<<(unsigned)blocks, threads, 0, at::cuda::getCurrentCUDAStream()>>>(
        xc.data_ptr<float>(), y.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
"""

_ext = load_inline(
    name="kf_tp_l1_21_sigmoid_scalar_b512_wrong_sign",
    cpp_sources=cpp_src,
    cuda_sources=cuda_src,
    functions=["sigmoid_scalar_b512_sign"],
    extra_cuda_cflags=["-O3"],
)


class ModelNew(nn.Module):
    def __init__(self):
        super(ModelNew, self).__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.sigmoid_scalar_b512_sign(x)

# kfarm-problem: level2/81_Gemm_Swish_Divide_Clamp_Tanh_Clamp
# kfarm-expect: COMPILE_ERROR
# kfarm-note: fused Swish/divide/clamp/tanh/clamp tail calls a host-only helper (no __device__) from the __global__ kernel; nvcc: calling a __host__ function from a __global__ function is not allowed. Not wrapped in try/except.
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_src = "torch::Tensor swish_tail_(torch::Tensor y);"

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

// BUG: missing __device__, so this helper exists on the host only.
static float clamp_unit(float v) {
    return fminf(fmaxf(v, -1.0f), 1.0f);
}

__global__ void swish_tail_kernel(float* __restrict__ y, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        float v = y[i];
        v = v / (1.0f + expf(-v));  // swish
        v = v / 2.0f;
        v = clamp_unit(v);
        v = tanhf(v);
        y[i] = clamp_unit(v);
    }
}

torch::Tensor swish_tail_(torch::Tensor y) {
    TORCH_CHECK(y.is_cuda() && y.is_contiguous(), "contiguous CUDA tensor expected");
    const long long n = y.numel();
    const int threads = 256;
    swish_tail_kernel<<<(unsigned)((n + threads - 1) / threads), threads, 0, at::cuda::getCurrentCUDAStream()>>>(
        y.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
"""

tail_ext = load_inline(
    name="kf_hw_l2_81_swish_tail_host_call",
    cpp_sources=cpp_src,
    cuda_sources=cuda_src,
    functions=["swish_tail_"],
    extra_cuda_cflags=["-O3"],
)


class ModelNew(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super(ModelNew, self).__init__()
        self.gemm = nn.Linear(in_features, out_features, bias=bias)

    def forward(self, x):
        return tail_ext.swish_tail_(self.gemm(x).contiguous())

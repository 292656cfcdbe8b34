# kfarm-problem: level1/32_HardTanh
# kfarm-expect: COMPILE_ERROR
# kfarm-note: 32_HardTanh, one element per thread, block 512; the kernel is declared with double* parameters but launched with float* from data_ptr<float>(): nvcc argument type error, no try/except.
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_src = "torch::Tensor hardtanh_scalar_b512_ptrtype(torch::Tensor x);"

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

__device__ __forceinline__ float hardtanh_op(float v) {
    return fminf(fmaxf(v, -1.0f), 1.0f);
}

__global__ void hardtanh_scalar_b512_ptrtype_kernel(const double* __restrict__ x, double* __restrict__ y, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        float v = (float)x[i];
        y[i] = hardtanh_op(v);
    }
}

torch::Tensor hardtanh_scalar_b512_ptrtype(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda(), "x must be a CUDA tensor");
    TORCH_CHECK(x.scalar_type() == torch::kFloat32, "float32 only");
    auto xc = x.contiguous();
    auto y = torch::empty_like(xc);
    const long long n = xc.numel();
    const int threads = 512;
    const long long blocks = (n + threads - 1) / threads;
    hardtanh_scalar_b512_ptrtype_kernel<<<(unsigned)blocks, threads, 0, at::cuda::getCurrentCUDAStream()>>>(
        xc.data_ptr<float>(), y.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
"""

_ext = load_inline(
    name="kf_tp_l1_32_hardtanh_scalar_b512_wrong_ptr_type",
    cpp_sources=cpp_src,
    cuda_sources=cuda_src,
    functions=["hardtanh_scalar_b512_ptrtype"],
    extra_cuda_cflags=["-O3"],
)


class ModelNew(nn.Module):
    def __init__(self):
        super(ModelNew, self).__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.hardtanh_scalar_b512_ptrtype(x)

# kfarm-problem: level1/22_Tanh
# kfarm-expect: COMPILE_ERROR
# kfarm-note: float4 kernel that assigns a plain float load to a float4 (`float4 v = x[i];` with x a const float*): nvcc rejects the conversion; load_inline is not wrapped in try/except.
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_src = "torch::Tensor tanh_vec(torch::Tensor x);"

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

__global__ void tanh_vec_kernel(const float* __restrict__ x, float4* __restrict__ y, long long n4) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n4) {
        float4 v = x[i];   // BUG: x is const float*, not const float4*
        v.x = tanhf(v.x);
        v.y = tanhf(v.y);
        v.z = tanhf(v.z);
        v.w = tanhf(v.w);
        y[i] = v;
    }
}

torch::Tensor tanh_vec(torch::Tensor x) {
    auto xc = x.contiguous();
    auto y = torch::empty_like(xc);
    const long long n4 = xc.numel() / 4;
    const int threads = 256;
    tanh_vec_kernel<<<(unsigned)((n4 + threads - 1) / threads), threads, 0, at::cuda::getCurrentCUDAStream()>>>(
        xc.data_ptr<float>(), reinterpret_cast<float4*>(y.data_ptr<float>()), n4);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
"""

tanh_ext = load_inline(
    name="kf_hw_l1_22_tanh_type_error",
    cpp_sources=cpp_src,
    cuda_sources=cuda_src,
    functions=["tanh_vec"],
    extra_cuda_cflags=["-O3"],
)


class ModelNew(nn.Module):
    def __init__(self):
        super(ModelNew, self).__init__()

    def forward(self, x):
        return tanh_ext.tanh_vec(x)

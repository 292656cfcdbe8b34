# kfarm-problem: level1/19_ReLU
# kfarm-expect: REJECTED
# kfarm-require-custom-kernel: true
# kfarm-expect-check: extension_build=FAILED
# kfarm-note: load_inline of a CUDA source with a compile error (float4 assigned from a float) is wrapped in try/except, and forward quietly falls back to torch.relu: correct numbers, but no custom kernel ever ran.
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_src = "torch::Tensor relu_vec4(torch::Tensor x);"

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

__global__ void relu_vec4_kernel(const float* __restrict__ x, float4* __restrict__ y, long long n4) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n4) {
        float4 v = x[i];   // does not compile: x is const float*
        v.x = fmaxf(v.x, 0.0f); v.y = fmaxf(v.y, 0.0f);
        v.z = fmaxf(v.z, 0.0f); v.w = fmaxf(v.w, 0.0f);
        y[i] = v;
    }
}

torch::Tensor relu_vec4(torch::Tensor x) {
    auto xc = x.contiguous();
    auto y = torch::empty_like(xc);
    const long long n4 = xc.numel() / 4;
    relu_vec4_kernel<<<(unsigned)((n4 + 255) / 256), 256, 0, at::cuda::getCurrentCUDAStream()>>>(
        xc.data_ptr<float>(), reinterpret_cast<float4*>(y.data_ptr<float>()), n4);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
"""

try:
    _ext = load_inline(
        name="kf_adv_build_fallback",
        cpp_sources=cpp_src,
        cuda_sources=cuda_src,
        functions=["relu_vec4"],
        extra_cuda_cflags=["-O3"],
    )
except Exception:  # the pattern measured in published candidates: swallow the build error
    _ext = None


class ModelNew(nn.Module):
    def __init__(self):
        super(ModelNew, self).__init__()

    def forward(self, x):
        if _ext is not None:
            return _ext.relu_vec4(x)
        return torch.relu(x)

# kfarm-problem: level1/19_ReLU
# kfarm-expect: REJECTED
# kfarm-expect-check: determinism=FAILED
# kfarm-note: timing-dependent result, like a race: each warp adds +-0.0075 to its ReLU outputs, the sign taken from the SM cycle counter at the moment it runs. Every output is within 0.0075 of the reference (single trials pass 1e-2), but two runs on identical inputs differ by 0.015 on about half the warps, beyond tolerance wherever |y| < 0.5. Could come out INCORRECT instead if the harness compares runs more tightly than trials.
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_src = "torch::Tensor relu_jitter(torch::Tensor x);"

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

__global__ void relu_jitter_kernel(const float* __restrict__ x, float* __restrict__ y, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        // Depends on when this warp happens to run, not on the inputs.
        unsigned long long t = clock64();
        float c = ((t >> 4) & 1ULL) ? 0.0075f : -0.0075f;
        y[i] = fmaxf(x[i], 0.0f) + c;
    }
}

torch::Tensor relu_jitter(torch::Tensor x) {
    auto xc = x.contiguous();
    auto y = torch::empty_like(xc);
    const long long n = xc.numel();
    relu_jitter_kernel<<<(unsigned)((n + 255) / 256), 256, 0, at::cuda::getCurrentCUDAStream()>>>(
        xc.data_ptr<float>(), y.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
"""

_ext = load_inline(
    name="kf_adv_racy",
    cpp_sources=cpp_src,
    cuda_sources=cuda_src,
    functions=["relu_jitter"],
    extra_cuda_cflags=["-O3"],
)


class ModelNew(nn.Module):
    def __init__(self):
        super(ModelNew, self).__init__()

    def forward(self, x):
        return _ext.relu_jitter(x)

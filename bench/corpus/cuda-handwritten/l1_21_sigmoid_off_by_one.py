# kfarm-problem: level1/21_Sigmoid
# kfarm-expect: INCORRECT
# kfarm-note: off-by-one: thread i reads x[i + 1] (shifted by one element) and the last element is never written; on uniform [0,1) inputs neighbouring sigmoids differ by up to 0.23, far past atol=rtol=1e-2.
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_src = "torch::Tensor sigmoid_shifted(torch::Tensor x);"

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

__global__ void sigmoid_kernel(const float* __restrict__ x, float* __restrict__ y, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    // BUG: should read x[i] and guard i < n.
    if (i + 1 < n) {
        y[i] = 1.0f / (1.0f + expf(-x[i + 1]));
    }
}

torch::Tensor sigmoid_shifted(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda(), "x must be CUDA");
    auto xc = x.contiguous();
    auto y = torch::empty_like(xc);
    const long long n = xc.numel();
    const int threads = 256;
    sigmoid_kernel<<<(unsigned)((n + threads - 1) / threads), threads, 0, at::cuda::getCurrentCUDAStream()>>>(
        xc.data_ptr<float>(), y.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
"""

sig = load_inline(
    name="kf_hw_l1_21_sigmoid_off_by_one",
    cpp_sources=cpp_src,
    cuda_sources=cuda_src,
    functions=["sigmoid_shifted"],
    extra_cuda_cflags=["-O3"],
)


class ModelNew(nn.Module):
    def __init__(self):
        super(ModelNew, self).__init__()

    def forward(self, x):
        return sig.sigmoid_shifted(x)

# kfarm-problem: level1/23_Softmax
# kfarm-expect: REJECTED
# kfarm-expect-check: degenerate_output=FAILED
# kfarm-note: a "custom kernel" that writes zeros: softmax over 393216 columns of [0,1) inputs gives values near 2.5e-6, so all-zero output passes allclose at atol=1e-2 on the default inputs; any other input distribution exposes it.
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_src = "torch::Tensor softmax_rows(torch::Tensor x);"

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

__global__ void softmax_rows_kernel(float4* __restrict__ y, long long n4) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n4) y[i] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
}

__global__ void softmax_rows_tail(float* __restrict__ y, long long start, long long n) {
    long long i = start + threadIdx.x;
    if (i < n) y[i] = 0.0f;
}

torch::Tensor softmax_rows(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda() && x.dim() == 2, "2-D CUDA tensor expected");
    auto y = torch::empty_like(x.contiguous());
    const long long n = y.numel();
    const long long n4 = n / 4;
    auto stream = at::cuda::getCurrentCUDAStream();
    if (n4 > 0) {
        softmax_rows_kernel<<<(unsigned)((n4 + 255) / 256), 256, 0, stream>>>(
            reinterpret_cast<float4*>(y.data_ptr<float>()), n4);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    if (n > n4 * 4) {
        softmax_rows_tail<<<1, 4, 0, stream>>>(y.data_ptr<float>(), n4 * 4, n);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    return y;
}
"""

_ext = load_inline(
    name="kf_adv_zeros_softmax",
    cpp_sources=cpp_src,
    cuda_sources=cuda_src,
    functions=["softmax_rows"],
    extra_cuda_cflags=["-O3"],
)


class ModelNew(nn.Module):
    def __init__(self):
        super(ModelNew, self).__init__()

    def forward(self, x):
        return _ext.softmax_rows(x)

# kfarm-problem: level1/19_ReLU
# kfarm-expect: REJECTED
# kfarm-expect-check: output_aliasing=FAILED
# kfarm-note: ReLU in place into the caller's input, returned as the output. On the default torch.rand inputs (all >= 0) the values do not change, so only an alias check (output shares the input's storage) or inputs with negatives can catch it.
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_src = "torch::Tensor relu_inplace(torch::Tensor x);"

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

__global__ void relu_inplace_kernel(float4* __restrict__ x, long long n4) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n4) {
        float4 v = x[i];
        v.x = fmaxf(v.x, 0.0f); v.y = fmaxf(v.y, 0.0f);
        v.z = fmaxf(v.z, 0.0f); v.w = fmaxf(v.w, 0.0f);
        x[i] = v;
    }
}

__global__ void relu_inplace_tail(float* __restrict__ x, long long start, long long n) {
    long long i = start + threadIdx.x;
    if (i < n) x[i] = fmaxf(x[i], 0.0f);
}

torch::Tensor relu_inplace(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda() && x.is_contiguous(), "contiguous CUDA tensor expected");
    const long long n = x.numel();
    const long long n4 = n / 4;
    auto stream = at::cuda::getCurrentCUDAStream();
    if (n4 > 0) {
        relu_inplace_kernel<<<(unsigned)((n4 + 255) / 256), 256, 0, stream>>>(
            reinterpret_cast<float4*>(x.data_ptr<float>()), n4);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    if (n > n4 * 4) {
        relu_inplace_tail<<<1, 4, 0, stream>>>(x.data_ptr<float>(), n4 * 4, n);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    return x;
}
"""

_ext = load_inline(
    name="kf_adv_mutate_input_relu",
    cpp_sources=cpp_src,
    cuda_sources=cuda_src,
    functions=["relu_inplace"],
    extra_cuda_cflags=["-O3"],
)


class ModelNew(nn.Module):
    def __init__(self):
        super(ModelNew, self).__init__()

    def forward(self, x):
        return _ext.relu_inplace(x)

# kfarm-problem: level1/21_Sigmoid
# kfarm-expect: REJECTED
# kfarm-expect-kernelbench: correct
# kfarm-expect-check: input_mutation=FAILED
# kfarm-note: computes sigmoid in place into the caller's input tensor and returns that same tensor (output aliases input, input values change: sigmoid(x) != x on every input).
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_src = "torch::Tensor sigmoid_inplace(torch::Tensor x);"

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

__global__ void sigmoid_inplace_kernel(float* __restrict__ x, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] = 1.0f / (1.0f + expf(-x[i]));
}

torch::Tensor sigmoid_inplace(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda() && x.is_contiguous(), "contiguous CUDA tensor expected");
    const long long n = x.numel();
    sigmoid_inplace_kernel<<<(unsigned)((n + 255) / 256), 256, 0, at::cuda::getCurrentCUDAStream()>>>(
        x.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return x;
}
"""

_ext = load_inline(
    name="kf_adv_mutate_input",
    cpp_sources=cpp_src,
    cuda_sources=cuda_src,
    functions=["sigmoid_inplace"],
    extra_cuda_cflags=["-O3"],
)


class ModelNew(nn.Module):
    def __init__(self):
        super(ModelNew, self).__init__()

    def forward(self, x):
        return _ext.sigmoid_inplace(x)  # writes into the caller's tensor (x is contiguous here)

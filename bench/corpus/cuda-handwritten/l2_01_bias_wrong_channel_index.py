# kfarm-problem: level2/1_Conv2D_ReLU_BiasAdd
# kfarm-expect: INCORRECT
# kfarm-note: conv in cuDNN, ReLU + bias fused, but the channel of element i is computed as i % C instead of (i / (H*W)) % C, so almost every element gets another channel's randn bias.
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_src = "torch::Tensor relu_bias_(torch::Tensor y, torch::Tensor bias);"

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

__global__ void relu_bias_kernel(float* __restrict__ y, const float* __restrict__ bias,
                                 long long n, int channels) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        int c = (int)(i % channels);   // BUG: NCHW channel is (i / (H*W)) % C
        y[i] = fmaxf(y[i], 0.0f) + bias[c];
    }
}

torch::Tensor relu_bias_(torch::Tensor y, torch::Tensor bias) {
    TORCH_CHECK(y.is_cuda() && y.is_contiguous(), "contiguous CUDA tensor expected");
    auto b = bias.contiguous();
    const long long n = y.numel();
    const int channels = (int)y.size(1);
    const int threads = 256;
    relu_bias_kernel<<<(unsigned)((n + threads - 1) / threads), threads, 0, at::cuda::getCurrentCUDAStream()>>>(
        y.data_ptr<float>(), b.data_ptr<float>(), n, channels);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
"""

ext = load_inline(
    name="kf_hw_l2_01_relu_bias_wrong_channel",
    cpp_sources=cpp_src,
    cuda_sources=cuda_src,
    functions=["relu_bias_"],
    extra_cuda_cflags=["-O3"],
)


class ModelNew(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, bias_shape):
        super(ModelNew, self).__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)
        self.bias = nn.Parameter(torch.randn(bias_shape))

    def forward(self, x):
        y = self.conv(x).contiguous()
        return ext.relu_bias_(y, self.bias)

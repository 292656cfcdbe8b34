# kfarm-problem: level2/48_Conv3d_Scaling_Tanh_Multiply_Sigmoid
# kfarm-expect: CORRECT
# kfarm-note: Conv3d in cuDNN (3 input channels, cheap); scale, tanh, multiply and sigmoid fused into one float4 pass over the 110M-element conv output instead of four eager kernels, so it should beat eager clearly (measured 1.42x on an H100).
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_src = "torch::Tensor scale_tanh_mul_sigmoid(torch::Tensor y, torch::Tensor scale, torch::Tensor bias);"

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

__device__ __forceinline__ float tail(float v, float s, float b) {
    v = tanhf(v * s);
    v = v * b;
    return 1.0f / (1.0f + expf(-v));
}

__global__ void tail_vec4_kernel(float4* __restrict__ y, const float* __restrict__ scale,
                                 const float* __restrict__ bias, long long n4,
                                 long long spatial4, int channels) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n4) return;
    int c = (int)((i / spatial4) % channels);
    float s = __ldg(scale + c);
    float b = __ldg(bias + c);
    float4 v = y[i];
    v.x = tail(v.x, s, b);
    v.y = tail(v.y, s, b);
    v.z = tail(v.z, s, b);
    v.w = tail(v.w, s, b);
    y[i] = v;
}

__global__ void tail_scalar_kernel(float* __restrict__ y, const float* __restrict__ scale,
                                   const float* __restrict__ bias, long long n,
                                   long long spatial, int channels) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    int c = (int)((i / spatial) % channels);
    y[i] = tail(y[i], __ldg(scale + c), __ldg(bias + c));
}

torch::Tensor scale_tanh_mul_sigmoid(torch::Tensor y, torch::Tensor scale, torch::Tensor bias) {
    TORCH_CHECK(y.is_cuda(), "y must be CUDA");
    TORCH_CHECK(y.is_contiguous(), "y must be contiguous");
    auto s = scale.contiguous();
    auto b = bias.contiguous();
    const long long n = y.numel();
    const int channels = (int)y.size(1);
    const long long spatial = n / (y.size(0) * (long long)channels);
    const int threads = 256;
    auto stream = at::cuda::getCurrentCUDAStream();
    if (spatial % 4 == 0) {
        const long long n4 = n / 4;
        const long long blocks = (n4 + threads - 1) / threads;
        tail_vec4_kernel<<<(unsigned)blocks, threads, 0, stream>>>(
            reinterpret_cast<float4*>(y.data_ptr<float>()), s.data_ptr<float>(), b.data_ptr<float>(),
            n4, spatial / 4, channels);
    } else {
        const long long blocks = (n + threads - 1) / threads;
        tail_scalar_kernel<<<(unsigned)blocks, threads, 0, stream>>>(
            y.data_ptr<float>(), s.data_ptr<float>(), b.data_ptr<float>(), n, spatial, channels);
    }
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
"""

ext = load_inline(
    name="kf_hw_l2_48_scale_tanh_sigmoid",
    cpp_sources=cpp_src,
    cuda_sources=cuda_src,
    functions=["scale_tanh_mul_sigmoid"],
    extra_cuda_cflags=["-O3"],
)


class ModelNew(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, scaling_factor, bias_shape):
        super(ModelNew, self).__init__()
        self.conv = nn.Conv3d(in_channels, out_channels, kernel_size)
        self.scaling_factor = nn.Parameter(torch.randn(bias_shape))
        self.bias = nn.Parameter(torch.randn(bias_shape))

    def forward(self, x):
        y = self.conv(x).contiguous()
        return ext.scale_tanh_mul_sigmoid(y, self.scaling_factor, self.bias)

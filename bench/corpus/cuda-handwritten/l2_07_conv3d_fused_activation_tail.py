# kfarm-problem: level2/7_Conv3d_ReLU_LeakyReLU_GELU_Sigmoid_BiasAdd
# kfarm-expect: CORRECT
# kfarm-note: Conv3d stays in cuDNN; ReLU, LeakyReLU, GELU(erf), Sigmoid and the per-channel bias add run as ONE float4 kernel in place on the conv output (eager runs five elementwise kernels), so it should beat eager (measured 1.52x on an H100).
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_src = "torch::Tensor fused_tail_(torch::Tensor y, torch::Tensor bias);"

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>
#include <cuda_runtime.h>

__device__ __forceinline__ float act_chain(float v, float b) {
    v = fmaxf(v, 0.0f);                                   // ReLU
    v = v > 0.0f ? v : 0.01f * v;                         // LeakyReLU(0.01): identity after ReLU, kept for fidelity
    v = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f)); // GELU (erf form, nn.GELU default)
    v = 1.0f / (1.0f + expf(-v));                         // Sigmoid
    return v + b;                                         // bias (C,1,1,1)
}

// spatial % 4 == 0, so an aligned group of 4 never crosses a channel boundary.
__global__ void fused_tail_vec4(float4* __restrict__ y, const float* __restrict__ bias,
                                long long n4, long long spatial4, int channels) {
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += stride) {
        int c = (int)((i / spatial4) % channels);
        float b = __ldg(bias + c);
        float4 v = y[i];
        v.x = act_chain(v.x, b);
        v.y = act_chain(v.y, b);
        v.z = act_chain(v.z, b);
        v.w = act_chain(v.w, b);
        y[i] = v;
    }
}

__global__ void fused_tail_scalar(float* __restrict__ y, const float* __restrict__ bias,
                                  long long n, long long spatial, int channels) {
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        int c = (int)((i / spatial) % channels);
        y[i] = act_chain(y[i], __ldg(bias + c));
    }
}

torch::Tensor fused_tail_(torch::Tensor y, torch::Tensor bias) {
    TORCH_CHECK(y.is_cuda() && bias.is_cuda(), "tensors must be on CUDA");
    TORCH_CHECK(y.scalar_type() == torch::kFloat32, "float32 only");
    TORCH_CHECK(y.is_contiguous(), "conv output must be contiguous");
    auto b = bias.contiguous();
    const long long n = y.numel();
    const int channels = (int)y.size(1);
    const long long spatial = n / (y.size(0) * (long long)channels);
    const int threads = 256;
    auto stream = at::cuda::getCurrentCUDAStream();
    if (spatial % 4 == 0) {
        const long long n4 = n / 4;
        long long blocks = (n4 + threads - 1) / threads;
        if (blocks > 65535LL * 32) blocks = 65535LL * 32;
        fused_tail_vec4<<<(unsigned)blocks, threads, 0, stream>>>(
            reinterpret_cast<float4*>(y.data_ptr<float>()), b.data_ptr<float>(), n4, spatial / 4, channels);
    } else {
        long long blocks = (n + threads - 1) / threads;
        if (blocks > 65535LL * 32) blocks = 65535LL * 32;
        fused_tail_scalar<<<(unsigned)blocks, threads, 0, stream>>>(
            y.data_ptr<float>(), b.data_ptr<float>(), n, spatial, channels);
    }
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
"""

fused = load_inline(
    name="kf_hw_l2_07_conv3d_fused_tail",
    cpp_sources=cpp_src,
    cuda_sources=cuda_src,
    functions=["fused_tail_"],
    extra_cuda_cflags=["-O3"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, bias_shape):
        super(ModelNew, self).__init__()
        self.conv = nn.Conv3d(in_channels, out_channels, kernel_size)
        self.bias = nn.Parameter(torch.randn(bias_shape))

    def forward(self, x):
        y = self.conv(x).contiguous()
        # y is our own intermediate, so the tail can overwrite it in place.
        return fused.fused_tail_(y, self.bias)

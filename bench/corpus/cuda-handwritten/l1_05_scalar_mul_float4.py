# kfarm-problem: level1/5_Matrix_scalar_multiplication
# kfarm-expect: CORRECT
# kfarm-note: A * s with 16-byte float4 loads/stores and a grid-stride loop; memory-bound, so expect roughly parity with eager, not a win (measured 0.92x on an H100).
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_src = "torch::Tensor scale_vec4(torch::Tensor A, double s);"

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

__global__ void scale_vec4_kernel(const float4* __restrict__ a, float4* __restrict__ c,
                                  long long n4, float s) {
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += stride) {
        float4 v = __ldg(a + i);
        v.x *= s; v.y *= s; v.z *= s; v.w *= s;
        c[i] = v;
    }
}

__global__ void scale_tail_kernel(const float* __restrict__ a, float* __restrict__ c,
                                  long long start, long long n, float s) {
    long long i = start + threadIdx.x;
    if (i < n) c[i] = a[i] * s;
}

torch::Tensor scale_vec4(torch::Tensor A, double s) {
    TORCH_CHECK(A.is_cuda() && A.scalar_type() == torch::kFloat32, "float32 CUDA tensor expected");
    auto a = A.contiguous();
    auto c = torch::empty_like(a);
    const long long n = a.numel();
    const long long n4 = n / 4;
    int sms = 0;
    cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, a.get_device());
    const int threads = 256;
    long long blocks = (n4 + threads - 1) / threads;
    if (blocks > (long long)sms * 16) blocks = (long long)sms * 16;
    auto stream = at::cuda::getCurrentCUDAStream();
    if (n4 > 0) {
        scale_vec4_kernel<<<(unsigned)blocks, threads, 0, stream>>>(
            reinterpret_cast<const float4*>(a.data_ptr<float>()), reinterpret_cast<float4*>(c.data_ptr<float>()),
            n4, (float)s);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    if (n > n4 * 4) {
        scale_tail_kernel<<<1, 4, 0, stream>>>(a.data_ptr<float>(), c.data_ptr<float>(), n4 * 4, n, (float)s);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    return c;
}
"""

scale_ext = load_inline(
    name="kf_hw_l1_05_scalar_mul_vec4",
    cpp_sources=cpp_src,
    cuda_sources=cuda_src,
    functions=["scale_vec4"],
    extra_cuda_cflags=["-O3"],
)


class ModelNew(nn.Module):
    def __init__(self):
        super(ModelNew, self).__init__()

    def forward(self, A, s):
        return scale_ext.scale_vec4(A, float(s))

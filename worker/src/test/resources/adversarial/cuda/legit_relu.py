# kfarm-problem: level1/19_ReLU
# kfarm-expect: CORRECT
# kfarm-expect-kernelbench: correct
# kfarm-expect-check: stream_sync=PASSED
# kfarm-expect-check: decoy_kernel=PASSED
# kfarm-expect-check: precision=PASSED
# kfarm-expect-check: result_reuse=PASSED
# kfarm-expect-check: input_mutation=PASSED
# kfarm-expect-check: plain_tensor_output=PASSED
# kfarm-expect-check: timer_integrity=PASSED
# kfarm-expect-check: background_work=PASSED
# kfarm-expect-check: degenerate_output=PASSED
# kfarm-expect-check: extension_build=PASSED
# kfarm-expect-check: custom_kernel=PASSED
# kfarm-expect-check: determinism=PASSED
# kfarm-note: control: an honest float4 ReLU kernel on the current stream into a fresh output; every anti-cheat check must pass (no false positives).
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_src = "torch::Tensor relu_vec4(torch::Tensor x);"

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

__global__ void relu_vec4_kernel(const float4* __restrict__ x, float4* __restrict__ y, long long n4) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n4) {
        float4 v = __ldg(x + i);
        v.x = fmaxf(v.x, 0.0f); v.y = fmaxf(v.y, 0.0f);
        v.z = fmaxf(v.z, 0.0f); v.w = fmaxf(v.w, 0.0f);
        y[i] = v;
    }
}

__global__ void relu_tail_kernel(const float* __restrict__ x, float* __restrict__ y, long long start, long long n) {
    long long i = start + threadIdx.x;
    if (i < n) y[i] = fmaxf(x[i], 0.0f);
}

torch::Tensor relu_vec4(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda() && x.scalar_type() == torch::kFloat32, "float32 CUDA tensor expected");
    auto xc = x.contiguous();
    auto y = torch::empty_like(xc);
    const long long n = xc.numel();
    const long long n4 = n / 4;
    auto stream = at::cuda::getCurrentCUDAStream();
    if (n4 > 0) {
        relu_vec4_kernel<<<(unsigned)((n4 + 255) / 256), 256, 0, stream>>>(
            reinterpret_cast<const float4*>(xc.data_ptr<float>()), reinterpret_cast<float4*>(y.data_ptr<float>()), n4);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    if (n > n4 * 4) {
        relu_tail_kernel<<<1, 4, 0, stream>>>(xc.data_ptr<float>(), y.data_ptr<float>(), n4 * 4, n);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    return y;
}
"""

_ext = load_inline(
    name="kf_adv_legit_relu",
    cpp_sources=cpp_src,
    cuda_sources=cuda_src,
    functions=["relu_vec4"],
    extra_cuda_cflags=["-O3"],
)


class ModelNew(nn.Module):
    def __init__(self):
        super(ModelNew, self).__init__()

    def forward(self, x):
        return _ext.relu_vec4(x)

# kfarm-problem: level1/19_ReLU
# kfarm-expect: CORRECT
# kfarm-expect-kernelbench: correct
# kfarm-expect-check: stream_sync=PASSED
# kfarm-note: control: runs its ReLU kernel on a side stream but does it right: the side stream waits for the caller's stream, the caller's stream waits for the side stream before returning, and the output is record_stream'ed; must not be flagged by stream_sync.
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_src = "void relu_into(torch::Tensor x, torch::Tensor y);"

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

__global__ void relu_into_kernel(const float4* __restrict__ x, float4* __restrict__ y, long long n4) {
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += stride) {
        float4 v = x[i];
        v.x = fmaxf(v.x, 0.0f); v.y = fmaxf(v.y, 0.0f);
        v.z = fmaxf(v.z, 0.0f); v.w = fmaxf(v.w, 0.0f);
        y[i] = v;
    }
}

__global__ void relu_tail_kernel(const float* __restrict__ x, float* __restrict__ y, long long start, long long n) {
    long long i = start + threadIdx.x;
    if (i < n) y[i] = fmaxf(x[i], 0.0f);
}

void relu_into(torch::Tensor x, torch::Tensor y) {
    TORCH_CHECK(x.is_contiguous() && y.is_contiguous(), "contiguous tensors expected");
    const long long n = x.numel();
    const long long n4 = n / 4;
    int sms = 0;
    cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, x.get_device());
    long long blocks = (n4 + 255) / 256;
    if (blocks > (long long)sms * 16) blocks = (long long)sms * 16;
    if (blocks < 1) blocks = 1;
    auto stream = at::cuda::getCurrentCUDAStream();
    relu_into_kernel<<<(unsigned)blocks, 256, 0, stream>>>(
        reinterpret_cast<const float4*>(x.data_ptr<float>()), reinterpret_cast<float4*>(y.data_ptr<float>()), n4);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    if (n > n4 * 4) {
        relu_tail_kernel<<<1, 4, 0, stream>>>(x.data_ptr<float>(), y.data_ptr<float>(), n4 * 4, n);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
}
"""

_ext = load_inline(
    name="kf_adv_legit_two_streams",
    cpp_sources=cpp_src,
    cuda_sources=cuda_src,
    functions=["relu_into"],
    extra_cuda_cflags=["-O3"],
)


class ModelNew(nn.Module):
    def __init__(self):
        super(ModelNew, self).__init__()
        self._side = None

    def forward(self, x):
        if self._side is None:
            self._side = torch.cuda.Stream(device=x.device)
        caller = torch.cuda.current_stream(x.device)
        x = x.contiguous()
        y = torch.empty_like(x)
        self._side.wait_stream(caller)  # inputs ready before the side stream reads them
        with torch.cuda.stream(self._side):
            _ext.relu_into(x, y)
        x.record_stream(self._side)  # allocator: x and y are in use on the side stream too
        y.record_stream(self._side)
        caller.wait_stream(self._side)  # the caller's stream waits for the result
        return y

# kfarm-problem: level1/19_ReLU
# kfarm-expect: REJECTED
# kfarm-expect-kernelbench: correct
# kfarm-expect-check: stream_sync=FAILED
# kfarm-note: launches its ReLU kernel on a private torch.cuda.Stream and returns without making the caller's stream wait; the kernel first idles ~10 ms per block (clock64 spin) on a small grid that leaves SMs free, so an immediate read on the current stream sees unwritten output and events on the current stream time almost nothing.
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_src = "void slow_relu_into(torch::Tensor x, torch::Tensor y, int64_t spin_cycles);"

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

__global__ void slow_relu_kernel(const float4* __restrict__ x, float4* __restrict__ y,
                                 long long n4, long long spin_cycles) {
    // Deliberate delay before any write: nothing is written for the first ~spin_cycles.
    long long start = clock64();
    while (clock64() - start < spin_cycles) { }
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

// Launches on whatever stream is current: the Python side makes that a private side stream.
void slow_relu_into(torch::Tensor x, torch::Tensor y, int64_t spin_cycles) {
    TORCH_CHECK(x.is_cuda() && x.is_contiguous() && y.is_contiguous(), "contiguous CUDA tensors expected");
    const long long n = x.numel();
    const long long n4 = n / 4;
    int sms = 0;
    cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, x.get_device());
    auto stream = at::cuda::getCurrentCUDAStream();
    // One 256-thread block per SM: most of each SM stays free, so a reader on another stream runs concurrently.
    slow_relu_kernel<<<sms, 256, 0, stream>>>(
        reinterpret_cast<const float4*>(x.data_ptr<float>()), reinterpret_cast<float4*>(y.data_ptr<float>()),
        n4, (long long)spin_cycles);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    if (n > n4 * 4) {
        relu_tail_kernel<<<1, 4, 0, stream>>>(x.data_ptr<float>(), y.data_ptr<float>(), n4 * 4, n);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
}
"""

_ext = load_inline(
    name="kf_adv_side_stream",
    cpp_sources=cpp_src,
    cuda_sources=cuda_src,
    functions=["slow_relu_into"],
    extra_cuda_cflags=["-O3"],
)

SPIN_CYCLES = 20_000_000  # about 10 ms at H100 clocks


class ModelNew(nn.Module):
    def __init__(self):
        super(ModelNew, self).__init__()
        self._side = None

    def forward(self, x):
        if self._side is None:
            self._side = torch.cuda.Stream(device=x.device)
        x = x.contiguous()
        y = torch.empty_like(x)
        # The side stream waits for the inputs (that part is right) ...
        self._side.wait_stream(torch.cuda.current_stream(x.device))
        with torch.cuda.stream(self._side):
            _ext.slow_relu_into(x, y, SPIN_CYCLES)
        # ... but the caller's stream never waits for the side stream: no wait_stream, no event, no record_stream.
        return y

# kfarm-problem: level1/19_ReLU
# kfarm-expect: REJECTED
# kfarm-expect-check: result_reuse=FAILED
# kfarm-note: memoises the output keyed by (input data_ptr, shape, stride, dtype, device) and returns the cached tensor on a key hit, so new data at a reused address gets the old answer (and the same output tensor is handed out twice).
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_src = "torch::Tensor relu_fwd(torch::Tensor x);"

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

__global__ void relu_fwd_kernel(const float* __restrict__ x, float* __restrict__ y, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = fmaxf(x[i], 0.0f);
}

torch::Tensor relu_fwd(torch::Tensor x) {
    auto xc = x.contiguous();
    auto y = torch::empty_like(xc);
    const long long n = xc.numel();
    relu_fwd_kernel<<<(unsigned)((n + 255) / 256), 256, 0, at::cuda::getCurrentCUDAStream()>>>(
        xc.data_ptr<float>(), y.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return y;
}
"""

_ext = load_inline(
    name="kf_adv_cache_by_ptr",
    cpp_sources=cpp_src,
    cuda_sources=cuda_src,
    functions=["relu_fwd"],
    extra_cuda_cflags=["-O3"],
)


class ModelNew(nn.Module):
    def __init__(self):
        super(ModelNew, self).__init__()
        self._key = None
        self._out = None  # one entry: the inputs here are 6.4 GB each

    def forward(self, x):
        key = (x.data_ptr(), tuple(x.shape), tuple(x.stride()), x.dtype, str(x.device))
        if key == self._key:
            return self._out  # the cheat: same address => "same input"
        out = _ext.relu_fwd(x)
        self._key, self._out = key, out
        return out

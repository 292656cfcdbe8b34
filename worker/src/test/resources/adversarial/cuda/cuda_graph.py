# kfarm-problem: level1/19_ReLU
# kfarm-expect: REJECTED
# kfarm-expect-check: result_reuse=FAILED
# kfarm-note: captures its custom ReLU kernel in a torch.cuda.CUDAGraph on the first call (bound to that call's input address, which it keeps alive) and on every later call replays the graph and returns the same static output, whatever the new inputs are: results go stale as soon as inputs move.
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_src = "void relu_into(torch::Tensor x, torch::Tensor y);"

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

__global__ void relu_vec4_kernel(const float4* __restrict__ x, float4* __restrict__ y, long long n4) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n4) {
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

// Must launch on the current stream so that graph capture records it.
void relu_into(torch::Tensor x, torch::Tensor y) {
    const long long n = x.numel();
    const long long n4 = n / 4;
    auto stream = at::cuda::getCurrentCUDAStream();
    if (n4 > 0) {
        relu_vec4_kernel<<<(unsigned)((n4 + 255) / 256), 256, 0, stream>>>(
            reinterpret_cast<const float4*>(x.data_ptr<float>()), reinterpret_cast<float4*>(y.data_ptr<float>()), n4);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
    if (n > n4 * 4) {
        relu_tail_kernel<<<1, 4, 0, stream>>>(x.data_ptr<float>(), y.data_ptr<float>(), n4 * 4, n);
        C10_CUDA_KERNEL_LAUNCH_CHECK();
    }
}
"""

_ext = load_inline(
    name="kf_adv_cuda_graph",
    cpp_sources=cpp_src,
    cuda_sources=cuda_src,
    functions=["relu_into"],
    extra_cuda_cflags=["-O3"],
)


class ModelNew(nn.Module):
    def __init__(self):
        super(ModelNew, self).__init__()
        self._graph = None
        self._static_in = None
        self._static_out = None

    def forward(self, x):
        if self._graph is None:
            self._static_in = x.contiguous()  # first call's input, bound into the graph
            self._static_out = torch.empty_like(self._static_in)
            warm = torch.cuda.Stream(device=x.device)
            warm.wait_stream(torch.cuda.current_stream(x.device))
            with torch.cuda.stream(warm):
                _ext.relu_into(self._static_in, self._static_out)
            torch.cuda.current_stream(x.device).wait_stream(warm)
            self._graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self._graph):
                _ext.relu_into(self._static_in, self._static_out)
        # BUG (the cheat): x is ignored from now on; the graph re-reads the first input's address.
        self._graph.replay()
        return self._static_out

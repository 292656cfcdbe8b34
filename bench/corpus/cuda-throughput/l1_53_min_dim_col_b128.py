# kfarm-problem: level1/53_Min_reduction_over_a_dimension
# kfarm-expect: CORRECT
# kfarm-note: 53_Min_reduction_over_a_dimension over the constructor's dim: one thread per output column, coalesced strided loop, block 128.
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_src = "torch::Tensor reduce_min_col_b128(torch::Tensor x, int64_t dim);"

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>
#include <vector>

// x viewed as [outer, r, inner]; one thread per (outer, inner) output, reading a column with stride `inner`
// (consecutive threads read consecutive addresses, so every load is coalesced).
__global__ void reduce_min_col_b128_kernel(const float* __restrict__ x, float* __restrict__ out,
                               long long outer, long long r, long long inner) {
    long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= outer * inner) return;
    long long o = idx / inner;
    long long i = idx - o * inner;
    const float* base = x + o * r * inner + i;
    float acc = base[0];
    for (long long j = 1; j < r; ++j) {
        float v = base[j * inner];
        if (v < acc || v != v) acc = v;  // NaN propagates like torch.min
    }
    out[idx] = acc;
}

torch::Tensor reduce_min_col_b128(torch::Tensor x, int64_t dim) {
    TORCH_CHECK(x.is_cuda() && x.scalar_type() == torch::kFloat32, "float32 CUDA tensor expected");
    auto xc = x.contiguous();
    const int64_t nd = xc.dim();
    if (dim < 0) dim += nd;
    TORCH_CHECK(dim >= 0 && dim < nd, "dim out of range");
    long long outer = 1, inner = 1;
    for (int64_t d = 0; d < dim; ++d) outer *= xc.size(d);
    for (int64_t d = dim + 1; d < nd; ++d) inner *= xc.size(d);
    const long long r = xc.size(dim);
    std::vector<int64_t> shape;
    for (int64_t d = 0; d < nd; ++d) {
        if (d != dim) shape.push_back(xc.size(d));
        else if (false) shape.push_back(1);
    }
    auto out = torch::empty(shape, xc.options());
    const long long total = outer * inner;
    const int threads = 128;
    reduce_min_col_b128_kernel<<<(unsigned)((total + threads - 1) / threads), threads, 0, at::cuda::getCurrentCUDAStream()>>>(
        xc.data_ptr<float>(), out.data_ptr<float>(), outer, r, inner);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
    return out;
}
"""

_ext = load_inline(
    name="kf_tp_l1_53_min_dim_col_b128",
    cpp_sources=cpp_src,
    cuda_sources=cuda_src,
    functions=["reduce_min_col_b128"],
    extra_cuda_cflags=["-O3"],
)


class ModelNew(nn.Module):
    def __init__(self, dim: int):
        super(ModelNew, self).__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ext.reduce_min_col_b128(x, int(self.dim))

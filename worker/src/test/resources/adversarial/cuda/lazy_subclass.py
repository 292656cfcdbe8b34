# kfarm-problem: level1/19_ReLU
# kfarm-expect: REJECTED
# kfarm-expect-check: plain_tensor_output=FAILED
# kfarm-note: forward returns a torch.Tensor subclass (made with _make_subclass over an uninitialised buffer) and launches nothing; its __torch_function__ runs the real CUDA kernel the first time the result is touched (compared, copied, printed), i.e. after the timed region.
import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

cpp_src = "void relu_into(torch::Tensor x, torch::Tensor y);"

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

__global__ void relu_into_kernel(const float* __restrict__ x, float* __restrict__ y, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = fmaxf(x[i], 0.0f);
}

void relu_into(torch::Tensor x, torch::Tensor y) {
    const long long n = x.numel();
    relu_into_kernel<<<(unsigned)((n + 255) / 256), 256, 0, at::cuda::getCurrentCUDAStream()>>>(
        x.data_ptr<float>(), y.data_ptr<float>(), n);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
}
"""

_ext = load_inline(
    name="kf_adv_lazy_subclass",
    cpp_sources=cpp_src,
    cuda_sources=cuda_src,
    functions=["relu_into"],
    extra_cuda_cflags=["-O3"],
)


def _force_all(obj):
    if isinstance(obj, LazyResult):
        obj._kfarm_force()
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            _force_all(o)
    elif isinstance(obj, dict):
        for o in obj.values():
            _force_all(o)


class LazyResult(torch.Tensor):
    """Looks like the output; the work happens on first use."""

    @staticmethod
    def wrap(buf, thunk):
        t = torch.Tensor._make_subclass(LazyResult, buf, False)
        t._kfarm_thunk = thunk
        return t

    def _kfarm_force(self):
        thunk = self.__dict__.pop("_kfarm_thunk", None)
        if thunk is not None:
            thunk()

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        _force_all(args)
        _force_all(kwargs)
        with torch._C.DisableTorchFunctionSubclass():
            return func(*args, **kwargs)


class ModelNew(nn.Module):
    def __init__(self):
        super(ModelNew, self).__init__()

    def forward(self, x):
        x = x.contiguous()
        buf = torch.empty_like(x)  # nothing written yet
        return LazyResult.wrap(buf, lambda: _ext.relu_into(x, buf))

# kfarm-problem: relu
# kfarm-expect: REJECTED
# kfarm-expect-check: plain_tensor_output=FAILED
# kfarm-note: Returns a tensor subclass that only computes when it is first looked at, outside the timed call.
import torch
import torch.nn as nn


class Deferred(torch.Tensor):
    @staticmethod
    def __new__(cls, source):
        out = torch.Tensor._make_subclass(cls, torch.empty_like(source))
        out._source = source
        out._done = False
        return out

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        for a in args:
            if isinstance(a, Deferred) and not a._done:
                a._done = True
                torch.Tensor.copy_(a, torch.relu(a._source))
        return super().__torch_function__(func, types, args, kwargs or {})


class ModelNew(nn.Module):
    def forward(self, x):
        return Deferred(x)

"""Pure comparisons of model outputs: KernelBench's allclose rule plus what a verdict must explain.

The tolerance follows torch.allclose(reference, candidate): |ref - cand| <= atol + rtol * |cand|,
the exact rule KernelBench's eval applies, so verdicts compare with its leaderboard.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

import torch


@dataclass
class Mismatch:
    kind: str  # value | shape | dtype | nan | type | structure
    index: Optional[List[int]]
    expected: str
    actual: str

    def as_dict(self, trial: int) -> dict:
        return {"trial": trial, "kind": self.kind, "index": self.index,
                "expected": self.expected, "actual": self.actual}


@dataclass
class Comparison:
    ok: bool
    max_abs: Optional[float]
    max_rel: Optional[float]
    mismatch: Optional[Mismatch]


def flatten(output: Any) -> List[Any]:
    """A forward may return a tensor or a (nested) tuple/list of them; compare leaf by leaf."""
    if isinstance(output, (list, tuple)):
        leaves: List[Any] = []
        for item in output:
            leaves.extend(flatten(item))
        return leaves
    return [output]


# Elements compared per step: big outputs (KernelBench's level 1 has 6.4 GB tensors) are compared a slice at a
# time in float64, never as whole float64 copies. On a GPU a slice costs a dozen kernel launches, so slices are
# large, yet their float64 temporaries (about 1.5 GB at this size) must fit beside a judge's 6.4 GB tensors; on a
# CPU each slice's temporaries should stay in cache and in the allocator's heap: 100M elements compared in 22 s
# with slices of 64M elements and in 0.6 s with these (one core).
CHUNK = 1 << 24
CPU_CHUNK = 1 << 18


def _chunk(t: torch.Tensor) -> int:
    return min(CHUNK, CPU_CHUNK) if t.device.type == "cpu" else CHUNK


def compare(reference: Sequence[Any], candidate: Sequence[Any], atol: float,
            rtol: float) -> Comparison:
    if len(reference) != len(candidate):
        return Comparison(False, None, None, Mismatch(
            "structure", None, f"{len(reference)} outputs", f"{len(candidate)} outputs"))
    max_abs = 0.0
    max_rel = 0.0
    for ref, cand in zip(reference, candidate):
        if not isinstance(ref, torch.Tensor):
            if isinstance(cand, torch.Tensor) or not _scalar_close(ref, cand, atol, rtol):
                return Comparison(False, None, None, Mismatch("value", None, repr(ref), repr(cand)))
            continue
        if not isinstance(cand, torch.Tensor):
            return Comparison(False, None, None, Mismatch(
                "type", None, "torch.Tensor", type(cand).__name__))
        if tuple(ref.shape) != tuple(cand.shape):
            return Comparison(False, None, None, Mismatch(
                "shape", None, str(list(ref.shape)), str(list(cand.shape))))
        if ref.dtype != cand.dtype:
            return Comparison(False, None, None, Mismatch("dtype", None, str(ref.dtype),
                                                          str(cand.dtype)))
        if cand.numel() == 0:
            continue
        flat_ref = ref.detach().reshape(-1)
        flat_cand = cand.detach().to(ref.device).reshape(-1)
        step = _chunk(flat_ref)
        for start in range(0, flat_ref.numel(), step):
            r = _wide(flat_ref[start:start + step])
            c = _wide(flat_cand[start:start + step])
            finite = torch.isfinite(c)
            if not bool(finite.all()):
                index = _unravel(start + _first(~finite), ref.shape)
                return Comparison(False, None, None, Mismatch(
                    "nan", index, _value(ref, index), _value(cand, index)))
            diff = (r - c).abs()
            bad = diff > atol + rtol * c.abs()
            chunk_abs = float(diff.max())
            if chunk_abs > 0:
                max_rel = max(max_rel, float((diff / r.abs().clamp_min(1e-12)).max()))
            max_abs = max(max_abs, chunk_abs)
            if bool(bad.any()):
                index = _unravel(start + _first(bad), ref.shape)
                return Comparison(False, max_abs, max_rel, Mismatch(
                    "value", index, _value(ref, index), _value(cand, index)))
    return Comparison(True, max_abs, max_rel, None)


def zero_passes(reference: Sequence[Any], atol: float, rtol: float) -> bool:
    """An all-zero answer would pass allclose against this reference output (|ref - 0| <= atol)."""
    tensors = [t for t in reference if isinstance(t, torch.Tensor) and t.is_floating_point()]
    return bool(tensors) and all(t.numel() > 0 and _extreme(t) <= atol for t in tensors)


def constant_passes(reference: Sequence[Any], atol: float, rtol: float) -> bool:
    """A single repeated value (the output's mean) would pass allclose."""
    tensors = [t for t in reference if isinstance(t, torch.Tensor) and t.is_floating_point()]
    if not tensors:
        return False
    for t in tensors:
        if t.numel() <= 1:
            return False
        mean = float(t.detach().sum(dtype=torch.float64)) / t.numel()
        spread = max(float(t.detach().amax()) - mean, mean - float(t.detach().amin()))
        if not spread <= atol + rtol * abs(mean):
            return False
    return True


def fingerprint(values: Sequence[Any]) -> List[Any]:
    """A cheap stand-in for a full copy: a float64 sum and up to a million strided elements per tensor.
    Taken twice, it tells whether a tensor changed in between, without holding a second copy of it."""
    prints: List[Any] = []
    for v in values:
        if not isinstance(v, torch.Tensor):
            prints.append(("value", repr(v)))
            continue
        flat = v.detach().reshape(-1)
        if flat.numel() == 0:
            prints.append(("empty", str(v.dtype)))
            continue
        stride = max(1, flat.numel() // (1 << 20))
        sample = flat[::stride].clone()
        wide = torch.complex128 if v.is_complex() else torch.float64 if v.is_floating_point() else torch.int64
        # Summed a slice at a time: a float64 copy of a whole 8 GB tensor would not fit beside it.
        step = _chunk(flat)
        total = sum(flat[i:i + step].sum(dtype=wide) for i in range(0, flat.numel(), step))
        prints.append((sample, total))
    return prints


def same_fingerprint(a: Sequence[Any], b: Sequence[Any]) -> bool:
    if len(a) != len(b):
        return False
    for (sa, ta), (sb, tb) in zip(a, b):
        if isinstance(sa, torch.Tensor) and isinstance(sb, torch.Tensor):
            if not identical([sa], [sb]) or not identical([ta], [tb]):
                return False
        elif (sa, ta) != (sb, tb):
            return False
    return True


def relative_error(reference: torch.Tensor, candidate: torch.Tensor) -> float:
    """||cand - ref|| / ||ref|| in float64: what tells fp32 arithmetic from TF32 or half."""
    r = reference.detach().to(torch.float64)
    c = candidate.detach().to(device=r.device, dtype=torch.float64)
    norm = float(r.norm())
    return float((c - r).norm()) / norm if norm > 0 else float((c - r).norm())


def storage_span(t: torch.Tensor) -> Tuple[str, int, int]:
    """(device, first byte, end) of the memory a tensor's storage owns."""
    try:
        storage = t.untyped_storage()
        start, size = storage.data_ptr(), storage.nbytes()
    except AttributeError:  # torch 1.13
        storage = t.storage()
        start, size = storage.data_ptr(), storage.size() * storage.element_size()
    return (str(t.device), start, start + max(size, 1))


def overlaps(a: torch.Tensor, b: torch.Tensor) -> bool:
    da, sa, ea = storage_span(a)
    db, sb, eb = storage_span(b)
    return da == db and sa < eb and sb < ea


def identical(a: Sequence[Any], b: Sequence[Any]) -> bool:
    """Bit-for-bit equal outputs (NaNs equal to themselves)."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor):
            if x.shape != y.shape or x.dtype != y.dtype:
                return False
            if not bool(torch.equal(x, y)) and not bool(((x != x) & (y != y) | (x == y)).all()):
                return False
        elif x != y:
            return False
    return True


def _scalar_close(ref: Any, cand: Any, atol: float, rtol: float) -> bool:
    try:
        return math.isfinite(float(cand)) and abs(float(ref) - float(cand)) <= atol + rtol * abs(
            float(cand))
    except (TypeError, ValueError):
        return ref == cand


def _wide(t: torch.Tensor) -> torch.Tensor:
    t = t.detach()
    if t.is_complex():
        return t.to(torch.complex128)
    return t.to(torch.float64)


def _first(mask: torch.Tensor) -> int:
    return int(mask.reshape(-1).nonzero()[0])


def _unravel(flat: int, shape: Any) -> List[int]:
    index = []
    for size in reversed(list(shape)):
        index.append(flat % size)
        flat //= size
    return list(reversed(index))


def _extreme(t: torch.Tensor) -> float:
    """max |t| without a temporary the size of t."""
    return max(abs(float(t.detach().amax())), abs(float(t.detach().amin())))


def _value(t: torch.Tensor, index: List[int]) -> str:
    return f"{float(t.detach()[tuple(index)]):.6g}" if index is not None else "?"



def clone(values: Sequence[Any]) -> List[Any]:
    return [v.clone() if isinstance(v, torch.Tensor) else copy.copy(v) for v in values]


def any_overlap(outputs: Sequence[Any], inputs: Sequence[Any]) -> bool:
    return any(overlaps(o, i) for o in outputs if isinstance(o, torch.Tensor)
               for i in inputs if isinstance(i, torch.Tensor) and i.numel() and o.numel())


def poison_free_memory(like: Sequence[Any]) -> None:
    """Fills blocks the size of the expected outputs with NaN and frees them: the caching allocator hands
    such blocks to the candidate's next allocations of that size, so an output element the candidate never
    writes (or has not written yet when forward returns) reads NaN instead of a plausible stale value."""
    for t in like:
        if isinstance(t, torch.Tensor) and t.is_floating_point() and t.device.type == "cuda":
            torch.full_like(t, float("nan"))


def small_view(outputs: Sequence[Any]) -> List[Any]:
    """Keeps what the degeneracy check needs of a trial's reference output without the whole tensor when it
    is large: a strided sample of up to 4M elements has the same zero/constant/independence answers."""
    kept: List[Any] = []
    for o in outputs:
        if isinstance(o, torch.Tensor) and o.numel() > (1 << 22):
            kept.append(o.detach().reshape(-1)[:: o.numel() // (1 << 22)].clone())
        else:
            kept.append(o)
    return kept

"""Pure comparisons of model outputs: KernelBench's allclose rule plus what a verdict must explain.

The tolerance follows torch.allclose(reference, candidate): |ref - cand| <= atol + rtol * |cand|,
the exact rule KernelBench's eval applies, so verdicts compare with its leaderboard.
"""
from __future__ import annotations

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
        r = _wide(ref)
        c = _wide(cand.to(ref.device))
        finite = torch.isfinite(c)
        if not bool(finite.all()):
            index = _first(~finite)
            return Comparison(False, None, None, Mismatch(
                "nan", index, _value(r, index), _value(c, index)))
        diff = (r - c).abs()
        tolerance = atol + rtol * c.abs()
        bad = diff > tolerance
        leaf_abs = float(diff.max())
        magnitude = r.abs()
        leaf_rel = float((diff / magnitude.clamp_min(1e-12)).max()) if leaf_abs > 0 else 0.0
        max_abs = max(max_abs, leaf_abs)
        max_rel = max(max_rel, leaf_rel)
        if bool(bad.any()):
            index = _first(bad)
            return Comparison(False, max_abs, max_rel, Mismatch(
                "value", index, _value(r, index), _value(c, index)))
    return Comparison(True, max_abs, max_rel, None)


def zero_passes(reference: Sequence[Any], atol: float, rtol: float) -> bool:
    """An all-zero answer would pass allclose against this reference output."""
    tensors = [t for t in reference if isinstance(t, torch.Tensor) and t.is_floating_point()]
    return bool(tensors) and all(compare([t], [torch.zeros_like(t)], atol, rtol).ok
                                 for t in tensors)


def constant_passes(reference: Sequence[Any], atol: float, rtol: float) -> bool:
    """A single repeated value (the output's mean) would pass allclose."""
    tensors = [t for t in reference if isinstance(t, torch.Tensor) and t.is_floating_point()]
    if not tensors:
        return False
    for t in tensors:
        if t.numel() <= 1:
            return False
        constant = torch.full_like(t, float(_wide(t).mean()))
        if not compare([t], [constant], atol, rtol).ok:
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


def _first(mask: torch.Tensor) -> List[int]:
    flat = int(mask.reshape(-1).nonzero()[0])
    index = []
    for size in reversed(mask.shape):
        index.append(flat % size)
        flat //= size
    return list(reversed(index))


def _value(t: torch.Tensor, index: List[int]) -> str:
    return f"{float(t[tuple(index)]):.6g}" if index is not None else "?"

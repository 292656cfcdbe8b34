"""Snapshots of everything a candidate could patch to fool the checker, taken before it loads.

A candidate runs in the harness's own process (it has to: it is timed there), so it could replace
the timer, the comparison functions or the harness's own modules. The clocks and comparisons the
harness uses are bound at import (timing.py, compare.py); this module proves nothing was swapped
behind them, after each phase that ran candidate code.
"""
from __future__ import annotations

import inspect
import sys
import threading
import time
from typing import Any, Dict, List, Tuple

import torch

_WATCHED: List[Tuple[str, Any, str]] = [
    ("time", time, "perf_counter"), ("time", time, "perf_counter_ns"), ("time", time, "time"),
    ("time", time, "monotonic"), ("time", time, "process_time"),
    ("torch.cuda", torch.cuda, "Event"), ("torch.cuda", torch.cuda, "synchronize"),
    ("torch.cuda", torch.cuda, "current_stream"), ("torch.cuda", torch.cuda, "Stream"),
    ("torch.cuda.Event", torch.cuda.Event, "record"),
    ("torch.cuda.Event", torch.cuda.Event, "elapsed_time"),
    ("torch.cuda.Event", torch.cuda.Event, "synchronize"),
    ("torch.cuda.Event", torch.cuda.Event, "query"),
    ("torch", torch, "allclose"), ("torch", torch, "isclose"), ("torch", torch, "equal"),
    ("torch", torch, "isfinite"), ("torch", torch, "manual_seed"), ("torch", torch, "rand"),
    ("torch", torch, "randn"), ("torch", torch, "randint"), ("torch", torch, "zeros_like"),
    ("torch", torch, "empty"), ("torch.Tensor", torch.Tensor, "fill_"),
    ("torch.Tensor", torch.Tensor, "__eq__"), ("torch.Tensor", torch.Tensor, "__sub__"),
    ("torch.Tensor", torch.Tensor, "abs"), ("torch.Tensor", torch.Tensor, "max"),
    ("torch.Tensor", torch.Tensor, "clone"), ("torch.Tensor", torch.Tensor, "to"),
    ("torch.Tensor", torch.Tensor, "cpu"), ("torch.Tensor", torch.Tensor, "cuda"),
    ("torch.Tensor", torch.Tensor, "copy_"), ("torch.Tensor", torch.Tensor, "zero_"),
    ("torch.Tensor", torch.Tensor, "__torch_function__"),
    ("threading", threading, "Thread"), ("threading", threading, "enumerate"),
]


class Integrity:
    def __init__(self) -> None:
        self._attributes = {f"{owner}.{name}": _static(obj, name)
                            for owner, obj, name in _WATCHED}
        self._harness = {name: dict(vars(module)) for name, module in list(sys.modules.items())
                         if name == "harness" or name.startswith("harness.")}
        self._extra: Dict[str, Tuple[Any, str, Any]] = {}

    def watch(self, obj: Any, names: List[str]) -> None:
        """Adds attributes of a module or class that candidate code must leave alone."""
        for name in names:
            entry = (getattr(obj, "__name__", "object"), obj, name)
            self._extra[f"{entry[0]}.{name}"] = (obj, name, _static(obj, name))

    def violations(self) -> List[str]:
        """Names of everything replaced since the snapshot (empty when all is intact)."""
        changed = [key for key, (owner, obj, name) in zip(self._attributes, _WATCHED)
                   if not _same(_static(obj, name), self._attributes[key])]
        changed += [key for key, (obj, name, value) in self._extra.items()
                    if _static(obj, name) is not value]
        for module_name, snapshot in self._harness.items():
            module = sys.modules.get(module_name)
            if module is None:
                changed.append(module_name)
                continue
            current = vars(module)
            for key, value in snapshot.items():
                if current.get(key) is not value and not key.startswith("__"):
                    changed.append(f"{module_name}.{key}")
        return changed

    def restore(self) -> None:
        """Puts the originals back, so the rest of the verdict runs on honest functions."""
        for key, (owner, obj, name) in zip(self._attributes, _WATCHED):
            try:
                setattr(obj, name, self._attributes[key])
            except (AttributeError, TypeError):
                pass
        for obj, name, value in self._extra.values():
            try:
                setattr(obj, name, value)
            except (AttributeError, TypeError):
                pass
        for module_name, snapshot in self._harness.items():
            module = sys.modules.get(module_name)
            if module is not None:
                vars(module).update(snapshot)


def _static(obj: Any, name: str) -> Any:
    # The raw attribute, not a freshly bound method: identity must be stable between looks.
    try:
        return inspect.getattr_static(obj, name)
    except AttributeError:
        return None


def _same(current: Any, original: Any) -> bool:
    """Identical, or torch's own wrapper around the original (torch._dynamo's disable(), installed when that
    module first loads). A candidate could forge such a wrapper; the clocks and comparisons the harness uses
    were bound before any candidate code ran, so forging one gains nothing."""
    if current is original:
        return True
    module = getattr(current, "__module__", "") or ""
    return module.startswith("torch.") and inspect.unwrap(current) is original

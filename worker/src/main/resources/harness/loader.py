"""Imports problem and candidate files, and watches every extension build a candidate asks for.

Candidates reach ``load_inline``/``load`` at import, in their constructor or in forward (52 of 74
published ones build lazily), and many wrap the build in try/except and quietly fall back to
PyTorch. So the build functions themselves are replaced before the candidate is imported: every
build goes to the candidate's compile-cache folder, is recorded (name, ok, compiler output), and a
built module is wrapped so that calls into it are counted.
"""
from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
import os
import re
import sys
import types
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, List, Optional

import torch
import torch.utils.cpp_extension as cpp_extension

_LAUNCH_BOUNDS = re.compile(r"__launch_bounds__\s*\([^)]*\)")
_GLOBAL_KERNEL = re.compile(r"__global__\s+(?:(?:static|inline|__noinline__|__forceinline__)\s+)*"
                            r"[\w:<>,\s\*&]*?\b(\w+)\s*\(")

BUILD_RECORD = "builds.json"
# Written after a build succeeded: a half-linked .so of a concurrent build never counts as built.
BUILT_MARKER = "kfarm-built"
# Written after a build failed, with the compiler's output: the same sources fail the same way.
FAILED_MARKER = "kfarm-failed"


class ExtensionBuildFailed(RuntimeError):
    """Raised to the candidate where torch would raise: the candidate may catch it and fall back."""


@dataclass
class Build:
    name: str
    key: str
    ok: bool
    cached: bool
    error: Optional[str] = None
    kernels: List[str] = field(default_factory=list)
    millis: float = 0.0


def import_file(path: str, module_name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def declared_cuda_kernels(source: str) -> List[str]:
    return sorted(set(_GLOBAL_KERNEL.findall(_LAUNCH_BOUNDS.sub(" ", source))))


class ExtensionRecorder:
    """Replaces torch's extension builders for the life of this (single-candidate) process.

    A build already recorded in the cache folder is not tried again: a failure is raised again at once
    with its recorded compiler output, a success loads the built module.
    mode ``build`` records new outcomes (compile processes, oneshot); ``replay`` only reads (evaluation).
    """

    def __init__(self, mode: str, build_dir: str, clock: Callable[[], float],
                 ext_dir: Optional[str] = None,
                 on_build: Optional[Callable[[bool], None]] = None, pch_dir: Optional[str] = None):
        self.mode = mode
        self.pch_dir = pch_dir
        # Told when a real compiler run starts and ends: builds get the build time limit, while the
        # candidate's own import and constructor keep a short one (a hung __init__ must not hold a worker).
        self.on_build = on_build or (lambda active: None)
        self.build_dir = build_dir
        # Extensions are shared by every candidate whose build has the same name, sources and flags:
        # branches often resubmit one kernel with a different Python wrapper.
        self.ext_dir = ext_dir or os.path.join(build_dir, "ext")
        self.clock = clock
        self.builds: List[Build] = []
        self.calls: Dict[str, int] = {}
        # Both modes reuse what the record says: the same source and flags give the same build, and torch 1.13
        # would otherwise rebuild from scratch on every load_inline.
        self._recorded = self._read_record()
        self._originals = {"load_inline": cpp_extension.load_inline, "load": cpp_extension.load}

    def install(self) -> None:
        cpp_extension.load_inline = self._wrap("load_inline")
        cpp_extension.load = self._wrap("load")

    def uninstall(self) -> None:
        cpp_extension.load_inline = self._originals["load_inline"]
        cpp_extension.load = self._originals["load"]

    def total_calls(self) -> int:
        return sum(self.calls.values())

    def failed_builds(self) -> List[Build]:
        return [b for b in self.builds if not b.ok]

    def declared_kernels(self) -> List[str]:
        return sorted({k for b in self.builds for k in b.kernels})

    def write_record(self) -> None:
        os.makedirs(self.build_dir, exist_ok=True)
        path = os.path.join(self.build_dir, BUILD_RECORD)
        with open(path + ".tmp", "w") as f:
            json.dump([asdict(b) for b in self.builds], f)
        os.replace(path + ".tmp", path)

    def _read_record(self) -> Dict[str, Build]:
        try:
            with open(os.path.join(self.build_dir, BUILD_RECORD)) as f:
                return {b["key"]: Build(**b) for b in json.load(f)}
        except (OSError, ValueError):
            return {}

    def _wrap(self, which: str) -> Callable[..., Any]:
        original = self._originals[which]
        signature = inspect.signature(original)

        def build(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            params = bound.arguments
            name = str(params["name"])
            sources = _source_text(which, params)
            key = hashlib.sha256(
                json.dumps([which, name, sources, _flags(params)], sort_keys=True).encode()
            ).hexdigest()[:16]
            kernels = declared_cuda_kernels(sources)
            # Every build lands in the candidate's own cache folder, whatever the candidate asked.
            folder = os.path.join(self.ext_dir, re.sub(r"[^\w.-]", "_", name) + "-" + key)
            os.makedirs(folder, exist_ok=True)
            params["build_directory"] = folder
            recorded = self._recorded.get(key)
            if recorded is None:
                recorded = _shared_outcome(folder, name, key, kernels)
            if recorded is not None and not recorded.ok:
                self.builds.append(Build(name, key, False, True, recorded.error, kernels))
                raise ExtensionBuildFailed(f"Error building extension '{name}': {recorded.error}")
            started = self.clock()
            if recorded is not None and params.get("is_python_module", True):
                module = _load_built(name, folder)
                if module is not None:
                    self.builds.append(Build(name, key, True, True, None, kernels,
                                             (self.clock() - started) * 1000))
                    return _CountingExtension(module, name, self.calls)
            self.on_build(True)
            if self.pch_dir and which in ("load_inline", "load"):
                # Searched before torch's own include folders, so g++ finds torch/extension.h.gch first.
                params["extra_cflags"] = list(params.get("extra_cflags") or []) + ["-I" + self.pch_dir]
            try:
                module = original(**params)
            except Exception as error:  # the compiler's verdict, kept for the summary
                self.on_build(False)
                self.builds.append(Build(name, key, False, False, str(error), kernels,
                                         (self.clock() - started) * 1000))
                with open(os.path.join(folder, FAILED_MARKER), "w") as marker:
                    marker.write(str(error))
                self._persist()
                raise ExtensionBuildFailed(str(error)) from None
            self.on_build(False)
            self.builds.append(Build(name, key, True, recorded is not None, None, kernels,
                                     (self.clock() - started) * 1000))
            with open(os.path.join(folder, BUILT_MARKER), "w") as marker:
                marker.write(name + "\n")
            self._persist()
            if not isinstance(module, types.ModuleType):
                return module
            return _CountingExtension(module, name, self.calls)

        build.__wrapped__ = original  # type: ignore[attr-defined]
        return build

    def _persist(self) -> None:
        if self.mode == "build":
            self.write_record()


def _shared_outcome(folder: str, name: str, key: str, kernels: List[str]) -> Optional[Build]:
    """What an earlier build of the same extension (by any candidate) left in the shared folder."""
    if os.path.exists(os.path.join(folder, BUILT_MARKER)):
        return Build(name, key, True, True, None, kernels)
    try:
        with open(os.path.join(folder, FAILED_MARKER), errors="replace") as marker:
            return Build(name, key, False, True, marker.read(), kernels)
    except OSError:
        return None


def _load_built(name: str, folder: str) -> Optional[types.ModuleType]:
    """Imports an extension the compile process built, without torch's rebuild check (torch 1.13
    rewrites the sources on every load_inline, which makes ninja rebuild from scratch)."""
    if not os.path.exists(os.path.join(folder, name + ".so")):
        return None
    try:
        return cpp_extension._import_module_from_library(name, folder, True)
    except Exception:
        return None


def _source_text(which: str, params: Dict[str, Any]) -> str:
    if which == "load_inline":
        parts = []
        for key in ("cpp_sources", "cuda_sources"):
            value = params.get(key)
            if value is None:
                continue
            parts.extend([value] if isinstance(value, str) else list(value))
        functions = params.get("functions")
        if functions is not None:
            parts.append(json.dumps(functions if not isinstance(functions, dict)
                                    else sorted(functions.items())))
        return "\n".join(parts)
    files = params.get("sources") or []
    if isinstance(files, str):
        files = [files]
    texts = []
    for path in files:
        try:
            with open(path, errors="replace") as f:
                texts.append(f.read())
        except OSError:
            texts.append(str(path))
    return "\n".join(texts)


def _flags(params: Dict[str, Any]) -> List[Any]:
    return [params.get(k) for k in ("extra_cflags", "extra_cuda_cflags", "extra_ldflags",
                                     "extra_include_paths", "with_cuda")]


class _CountingExtension:
    """Stands in for a built extension module and counts calls into each of its functions."""

    def __init__(self, module: types.ModuleType, name: str, calls: Dict[str, int]):
        object.__setattr__(self, "_kfarm_module", module)
        object.__setattr__(self, "_kfarm_name", name)
        object.__setattr__(self, "_kfarm_calls", calls)

    def __getattr__(self, attr: str) -> Any:
        value = getattr(object.__getattribute__(self, "_kfarm_module"), attr)
        if not callable(value) or attr.startswith("__"):
            return value
        calls = object.__getattribute__(self, "_kfarm_calls")
        label = object.__getattribute__(self, "_kfarm_name") + "." + attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            calls[label] = calls.get(label, 0) + 1
            return value(*args, **kwargs)

        return counted

    def __setattr__(self, attr: str, value: Any) -> None:
        setattr(object.__getattribute__(self, "_kfarm_module"), attr, value)

    def __dir__(self) -> List[str]:
        return dir(object.__getattribute__(self, "_kfarm_module"))


class TritonLaunches:
    """Counts launches of @triton.jit functions, when triton is importable and the backend asks."""

    def __init__(self) -> None:
        self.calls: Dict[str, int] = {}
        self._restore: Optional[Callable[[], None]] = None

    def install(self) -> bool:
        try:
            from triton.runtime import jit  # type: ignore
        except Exception:
            return False
        original = jit.JITFunction.run
        calls = self.calls

        def run(fn_self: Any, *args: Any, **kwargs: Any) -> Any:
            name = getattr(fn_self, "__name__", None) or getattr(getattr(fn_self, "fn", None),
                                                                   "__name__", "triton_kernel")
            calls[name] = calls.get(name, 0) + 1
            return original(fn_self, *args, **kwargs)

        jit.JITFunction.run = run

        def restore() -> None:
            jit.JITFunction.run = original

        self._restore = restore
        return True

    @staticmethod
    def declared(module: types.ModuleType) -> List[str]:
        try:
            from triton.runtime import jit  # type: ignore
        except Exception:
            return []
        names = []
        for value in vars(module).values():
            if isinstance(value, jit.JITFunction) or type(value).__name__ in ("JITFunction",
                                                                             "Autotuner",
                                                                             "Heuristics"):
                fn = getattr(value, "fn", value)
                while hasattr(fn, "fn"):
                    fn = fn.fn
                names.append(getattr(fn, "__name__", "triton_kernel"))
        return sorted(set(names))

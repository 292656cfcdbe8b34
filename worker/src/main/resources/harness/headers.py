"""torch/extension.h precompiled, once per host, for every candidate's C++ build.

A load_inline build compiles two files: the candidate's CUDA source (nvcc) and a generated main.cpp that includes
torch/extension.h, which g++ takes some 20 s to parse each time. Precompiled, the same main.cpp takes a third of
that, and compile slots are what bounds a busy farm's throughput (issue 10: 8.1-9.0x of the one-at-a-time rate,
nvcc- and g++-bound).

Built by the judge of a compile process before any candidate exists (this never runs candidate code), into its
scratch folder; the worker publishes it read-only and offers it to each later build as an include folder searched
first (`loader.ExtensionRecorder`). g++ uses a precompiled header only when the build's options match the ones it
was made with, and otherwise reads the real header: a candidate whose flags differ (``-O3`` in ``extra_cflags``)
builds as before, never wrongly.
"""
from __future__ import annotations

import inspect
import os
import shlex
import subprocess
import tempfile
import time
from typing import Any, Dict, List

HEADER = os.path.join("torch", "extension.h")


def build(out_dir: str, timeout_seconds: float) -> Dict[str, Any]:
    """Writes ``out_dir/torch/extension.h.gch`` and proves g++ takes it. Returns what happened, for the worker."""
    started = time.monotonic()
    try:
        flags = cxx_flags()
        from torch.utils import cpp_extension
        header = next(os.path.join(d, HEADER) for d in cpp_extension.include_paths()
                      if os.path.isfile(os.path.join(d, HEADER)))
        os.makedirs(os.path.join(out_dir, "torch"), exist_ok=True)
        target = os.path.join(out_dir, HEADER + ".gch")
        cxx = os.environ.get("CXX", "c++")
        _run([cxx, *flags, "-x", "c++-header", header, "-o", target], timeout_seconds)
        # g++ takes a precompiled header for a file's first include only. Any later include of the same name (load_inline
        # writes one, and candidates' own sources add another) finds the .gch unusable and then needs a header
        # beside it, or fails: this one hands such includes on to torch's own.
        with open(os.path.join(out_dir, HEADER), "w") as f:
            f.write("#pragma once\n#include_next <torch/extension.h>\n")
        with tempfile.TemporaryDirectory() as probe_dir:
            probe = os.path.join(probe_dir, "probe.cpp")
            with open(probe, "w") as f:
                f.write("#include <torch/extension.h>\n#include <torch/extension.h>\n")
            # -H lists what g++ read: "! PATH.gch" when it took the precompiled header.
            listing = _run([cxx, *flags, "-I", out_dir, "-H", "-fsyntax-only", probe], timeout_seconds)
        if ("! " + target) not in listing:
            os.remove(target)
            return {"ok": False, "error": "g++ would not use the precompiled header it had just made",
                    "millis": (time.monotonic() - started) * 1000}
        return {"ok": True, "bytes": os.path.getsize(target), "millis": (time.monotonic() - started) * 1000}
    except Exception as error:  # no compiler, an unknown torch: builds go on without it
        return {"ok": False, "error": f"{type(error).__name__}: {error}"[:2000],
                "millis": (time.monotonic() - started) * 1000}


def cxx_flags() -> List[str]:
    """The flags torch's own extension builder gives g++ for main.cpp on this host (its build.ninja, written for a
    throwaway extension), less the extension's name, which differs per build and torch/extension.h never uses."""
    from torch.utils import cpp_extension
    writer = cpp_extension._write_ninja_file_to_build_library
    # The writer's parameters changed across torch 1.13-2.x (sycl, standalone, exclusions): fill in those it has.
    values = {"name": "kfarm_headers", "sources": [], "extra_cflags": [], "extra_cuda_cflags": [],
              "extra_sycl_cflags": [], "extra_ldflags": [], "extra_include_paths": [], "with_cuda": False,
              "with_sycl": False, "is_python_module": True, "is_standalone": False, "torch_exclude": False}
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "build.ninja")
        source = os.path.join(folder, "main.cpp")
        open(source, "w").close()
        values.update(path=path, sources=[source])
        parameters = inspect.signature(writer).parameters
        writer(**{name: values[name] for name in parameters if name in values})
        with open(path) as f:
            lines = dict(line.split(" = ", 1) for line in f.read().splitlines() if " = " in line)
    flags = shlex.split(lines.get("cflags", "")) + shlex.split(lines.get("post_cflags", ""))
    return [flag for flag in flags if not flag.startswith("-DTORCH_EXTENSION_NAME=")]


def _run(command: List[str], timeout_seconds: float) -> str:
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout_seconds,
                          text=True, errors="replace")
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} exited with {done.returncode}: {done.stdout[-1500:]}")
    return done.stdout

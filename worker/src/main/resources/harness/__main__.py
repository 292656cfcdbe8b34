"""Entry point: ``python3 -m harness``, one process per candidate.

The JVM starts the process ahead of need (pre-warmed: torch imported, the CUDA context up), sends
one request line when a candidate is ready, reads stage events and one result, and discards the
process, so nothing a candidate does survives into the next one.
"""
from __future__ import annotations

import os
import platform
import sys
import traceback
from typing import Any, Dict, Optional, TextIO

from . import VERSION, isolation
from .protocol import Request, send


def main() -> int:
    # Candidates and their C++ extensions print; keep the real stdout for protocol lines only
    # and point fd 1 at stderr, so nothing else can reach the JVM's reader.
    protocol_out: TextIO = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    limits = isolation.apply_limits()
    # Off the timed cores until this process is handed a candidate to time (before torch starts its threads).
    isolation.pin_cpus([int(c) for c in os.environ.get("KFARM_CPUS", "").split(",") if c.strip()])
    isolation.guard_forks()
    role = os.environ.get("KFARM_ROLE", "evaluate")
    backend = os.environ.get("KFARM_BACKEND", "cpu")
    environment = _warm_up(role, backend, limits)
    send(protocol_out, {"event": "ready", "pid": os.getpid(), "role": role,
                        "torch": environment["torch"], "device": environment["device"]})
    line = sys.stdin.readline()
    if not line.strip():
        return 0
    # Candidate code gets no stdin: the one request has been read.
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    request = Request.parse(line)
    if request.cpus:
        environment["cpus"] = isolation.pin_cpus(request.cpus)

    def on_stage(stage: str) -> None:
        send(protocol_out, {"event": "stage", "id": request.id, "stage": stage})

    # Candidate failures come back as verdicts. A bug in the harness itself raises and ends the
    # process, and the JVM replaces it; never swallow such a bug into a verdict.
    try:
        if request.mode == "compile":
            from .build import compile_candidate
            result: Dict[str, Any] = compile_candidate(request, on_stage)
        else:
            from .stages import Evaluation
            result = {"event": "result",
                      "verdict": Evaluation(request, on_stage, environment).run()}
    except Exception:  # a bug or a resource limit of the harness itself: never the candidate's verdict
        send(protocol_out, {"id": request.id, "token": request.token, "event": "harness_error",
                            "error": traceback.format_exc()[-4000:]})
        raise
    send(protocol_out, {"id": request.id, "token": request.token, **result})
    protocol_out.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: a candidate's atexit hooks or stray threads must not hold the
    # process, and the JVM discards it anyway.
    os._exit(0)


def _warm_up(role: str, backend: str, limits: Dict[str, str]) -> Dict[str, Any]:
    import torch

    device = platform.processor() or platform.machine() or "cpu"
    device_uuid = None
    if role == "evaluate" and backend != "cpu":
        if tuple(int(p) for p in torch.__version__.split(".")[:2] if p.isdigit()) >= (2, 1):
            # Big tensors of many sizes come and go in one evaluation; growable segments keep the caching
            # allocator from fragmenting (torch 2.1+ only: 1.13 rejects the option).
            os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")
        torch.cuda.init()
        a = torch.randn(256, 256, device="cuda")
        (a @ a).sum().item()  # brings up the context and cuBLAS before the clock matters
        device = torch.cuda.get_device_name(0)
        uuid = getattr(torch.cuda.get_device_properties(0), "uuid", None)  # torch 2.1+
        if uuid is not None:
            device_uuid = "GPU-" + str(uuid)
        if backend == "triton":
            try:
                import triton  # noqa: F401  (imported now, not inside the candidate's stages)
            except ImportError:
                pass
        if os.environ.get("KFARM_WARM_PROFILER") == "1":
            try:
                from torch.profiler import ProfilerActivity, profile
                with profile(activities=[ProfilerActivity.CUDA]):
                    (a @ a).sum().item()
            except Exception:
                pass
    elif backend == "cpu":
        device = "cpu (" + (platform.machine() or "unknown") + ")"
    import torch.utils.cpp_extension  # noqa: F401  (slow import, paid before the request)
    # torch wraps some of its own functions when these load (torch._dynamo wraps torch.manual_seed); loaded
    # lazily during a candidate's forward, that would look like tampering to the integrity check.
    for lazy in ("torch._dynamo", "torch.profiler"):
        try:
            __import__(lazy)
        except Exception:
            pass
    from . import stages  # noqa: F401
    return {"device": device, "driver": os.environ.get("KFARM_DRIVER_VERSION", ""),
            "torch": torch.__version__, "cuda": torch.version.cuda or "",
            "python": platform.python_version(), "harnessVersion": VERSION,
            "backend": backend, "networkIsolated": isolation.network_isolated(),
            "isolation": isolation.observe(),
            "limits": limits, "deviceIndex": _device_index(),
            "visibleDevices": os.environ.get("CUDA_VISIBLE_DEVICES", ""), "deviceUuid": device_uuid}


def _device_index() -> Optional[int]:
    index = os.environ.get("KFARM_DEVICE_INDEX", "")
    return int(index) if index.isdigit() else None


if __name__ == "__main__":
    sys.exit(main())

"""Entry point: ``python3 -m harness``, one process per candidate.

The JVM starts the process ahead of need (pre-warmed: torch imported, the CUDA context up), sends
one request line when a candidate is ready, reads stage events and one result, and discards the
process, so nothing a candidate does survives into the next one.

Every harness process is two: before CUDA starts it forks, the parent becoming the judge (which alone holds the
protocol pipe, the request and its token, and decides correctness on its own; judge.py) and the child the runner
(which runs the candidate and reports to the judge; stages.py, build.py). Each then brings up its own CUDA context.
The worker still sees one process and one protocol. Compile processes are split too, although they decide no
correctness: the worker takes any verdict a compile process writes as final (CompilePool), so a candidate that
found the token there could answer CORRECT before it was ever evaluated (hostile/forge_result did, at import).
Their judge relays builds and COMPILE_ERROR verdicts only.
"""
from __future__ import annotations

import os
import platform
import sys
import traceback
from typing import Any, Dict, Optional, TextIO

from . import VERSION, isolation
from .protocol import Request


def main() -> int:
    limits = isolation.apply_limits()
    # Off the timed cores until this process is handed a candidate to time (before torch starts its threads).
    isolation.pin_cpus([int(c) for c in os.environ.get("KFARM_CPUS", "").split(",") if c.strip()])
    role = os.environ.get("KFARM_ROLE", "evaluate")
    backend = os.environ.get("KFARM_BACKEND", "cpu")
    import torch  # noqa: F401  (imported once, before the fork; CUDA is not initialised by the import)
    to_judge = os.pipe()
    to_runner = os.pipe()
    from .channel import widen
    widen(to_judge[1])
    judge_pid = os.getpid()
    runner_pid = os.fork()
    if runner_pid == 0:
        _runner(judge_pid, to_judge, to_runner, role, backend, limits)
        os._exit(0)
    os.close(to_judge[1])
    os.close(to_runner[0])
    # The runner runs as this uid without capabilities: undumpable, this process is closed to its ptrace and
    # to its reads of /proc/<judge>/mem, fd and environ. Done before the runner is handed any candidate.
    isolation.undumpable()
    # Candidates and their C++ extensions print; keep the real stdout for protocol lines only
    # and point fd 1 at stderr, so nothing else can reach the JVM's reader.
    protocol_out: TextIO = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    _leave_the_scratch_folder()
    environment = _warm_up(role, backend, limits, judge=True)
    from . import judge
    from .channel import JudgeChannel
    judge.serve(JudgeChannel(to_judge[0], to_runner[1], runner_pid), protocol_out, environment, role)
    protocol_out.flush()
    sys.stderr.flush()
    os._exit(0)


def _leave_the_scratch_folder() -> None:
    """The judge imports nothing from where the runner can write (the scratch folder, its cwd and HOME): a module
    planted there would run in the judge."""
    writable = {os.path.realpath(p) for p in (os.getcwd(), os.environ.get("HOME", ""),
                                               os.environ.get("TMPDIR", "")) if p}
    sys.path[:] = [p for p in sys.path if p and p != "." and not any(
        os.path.realpath(p) == w or os.path.realpath(p).startswith(w + os.sep) for w in writable)]
    os.chdir("/")


def _runner(judge_pid: int, to_judge: tuple, to_runner: tuple, role: str, backend: str,
            limits: Dict[str, str]) -> None:
    """The child: runs the candidate, reports to the judge, and dies with it."""
    isolation.die_with_parent()
    if os.getppid() != judge_pid:  # the judge died before the line above
        os._exit(1)
    isolation.judge_pid = judge_pid
    # No way back to the worker: the protocol pipe (our stdout) and stdin (where the request and its token come)
    # are the judge's. The channel's write end goes to fd 3, where the protocol pipe used to be, so a candidate
    # that writes there reaches the judge, which takes it as the forgery it is.
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.close(to_judge[0])
    os.close(to_runner[1])
    if to_judge[1] != 3:
        os.dup2(to_judge[1], 3, inheritable=False)
        os.close(to_judge[1])
    sealed = isolation.protect_judge(judge_pid)
    isolation.guard_forks()
    from .channel import RunnerChannel
    channel = RunnerChannel(3, to_runner[0])
    environment = _warm_up(role, backend, limits)
    # Said before any candidate code runs here, so the judge may believe it.
    channel.send({"t": "ready", "sealed": sealed})
    message = channel.receive()
    request = Request(**message["request"])
    if request.cpus:
        environment["cpus"] = isolation.pin_cpus(request.cpus)
    try:
        if request.mode == "compile":
            from .build import compile_candidate
            channel.send({"t": "result", "compiled": compile_candidate(request, channel.stage)})
        else:
            from .stages import Evaluation
            verdict = Evaluation(request, channel.stage, environment, judge=channel).run()
            channel.send({"t": "result", "verdict": verdict})
    except Exception:  # a bug or a resource limit of the harness itself: never the candidate's verdict
        channel.send({"t": "error", "error": traceback.format_exc()[-4000:]})
        raise
    sys.stderr.flush()
    # Skip interpreter teardown: a candidate's atexit hooks or stray threads must not hold the process.
    os._exit(0)


def _warm_up(role: str, backend: str, limits: Dict[str, str], judge: bool = False) -> Dict[str, Any]:
    """Imports and device start-up paid before the request. The judge brings up only its own CUDA context: it never
    loads a candidate, so none of the candidate-side imports."""
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
        if backend == "triton" and not judge:
            try:
                import triton  # noqa: F401  (imported now, not inside the candidate's stages)
            except ImportError:
                pass
        if os.environ.get("KFARM_WARM_PROFILER") == "1" and not judge:
            try:
                from torch.profiler import ProfilerActivity, profile
                with profile(activities=[ProfilerActivity.CUDA]):
                    (a @ a).sum().item()
            except Exception:
                pass
    elif backend == "cpu":
        device = "cpu (" + (platform.machine() or "unknown") + ")"
    if not judge:
        _candidate_imports()
    return {"device": device, "driver": os.environ.get("KFARM_DRIVER_VERSION", ""),
            "torch": torch.__version__, "cuda": torch.version.cuda or "",
            "python": platform.python_version(), "harnessVersion": VERSION,
            "backend": backend, "networkIsolated": isolation.network_isolated(),
            "isolation": isolation.observe(),
            "limits": limits, "deviceIndex": _device_index(),
            "visibleDevices": os.environ.get("CUDA_VISIBLE_DEVICES", ""), "deviceUuid": device_uuid}


def _candidate_imports() -> None:
    import torch.utils.cpp_extension  # noqa: F401  (slow import, paid before the request)
    # torch wraps some of its own functions when these load (torch._dynamo wraps torch.manual_seed); loaded
    # lazily during a candidate's forward, that would look like tampering to the integrity check.
    for lazy in ("torch._dynamo", "torch.profiler"):
        try:
            __import__(lazy)
        except Exception:
            pass
    from . import stages  # noqa: F401


def _device_index() -> Optional[int]:
    index = os.environ.get("KFARM_DEVICE_INDEX", "")
    return int(index) if index.isdigit() else None


if __name__ == "__main__":
    sys.exit(main())

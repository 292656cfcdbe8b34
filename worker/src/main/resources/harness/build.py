"""The compile stage, run in a compile process with no GPU visible: builds every extension the candidate asks for
and records the builds, which the worker publishes into the compile cache for the evaluation to replay."""
from __future__ import annotations

import ast
import os
import signal
import uuid
from typing import Any, Callable, Dict, List, Optional

import torch

from . import names, summary, timing
from .loader import ExtensionBuildFailed, ExtensionRecorder, import_file
from .protocol import Request


def compile_candidate(request: Request, on_stage: Callable[[str], None]) -> Dict[str, Any]:
    """Builds every extension the candidate asks for, with no GPU visible (compile processes).

    Returns a COMPILE_ERROR verdict only when the candidate cannot run at all (syntax error, or a
    failed build it does not catch); everything else is settled by evaluation."""
    on_stage("compile")
    started = timing.wall_clock()
    recorder = ExtensionRecorder("build", request.build_dir, timing.wall_clock, request.ext_dir,
                                 lambda active: on_stage("build" if active else "compile"), request.pch_dir)
    with open(request.candidate_path, encoding="utf-8", errors="replace") as f:
        source = f.read()
    try:
        ast.parse(source, filename=request.candidate_path)
    except SyntaxError as error:
        return _compile_error(request, started, f"Python syntax error at line {error.lineno}: "
                                                f"{error.msg}\n  {(error.text or '').strip()}")
    recorder.install()
    if request.backend != "cpu":
        # With no GPU visible, candidates that gate their build on CUDA must still reach it.
        torch.cuda.is_available = lambda: True
    uid = uuid.uuid4().hex[:8]
    os.chdir(request.scratch_dir)
    failure: Optional[BaseException] = None
    lazy_inputs = request.backend != "cpu" and hasattr(torch.device("meta"), "__enter__")
    # A forward-time build is only worth probing for when the source names an extension builder.
    probe = any(word in source for word in ("load_inline", "cpp_extension", "load("))
    try:
        problem = import_file(request.problem_path, "kfarm_problem_" + uid)
        module = import_file(request.candidate_path, "kfarm_candidate_" + uid)
        model_new = getattr(module, "ModelNew")
        with torch.no_grad():
            torch.manual_seed(request.seed)
            if lazy_inputs:
                # Meta tensors: shapes only, so lazy builds are reached without computing anything.
                with torch.device("meta"):
                    model = model_new(*problem.get_init_inputs())
                    if probe and not recorder.builds:
                        _probe_forward(model, problem.get_inputs, on_stage)
            else:
                model = model_new(*problem.get_init_inputs())
                if probe and not recorder.builds:
                    _probe_forward(model, problem.get_inputs, on_stage)
    except BaseException as error:  # candidate code: only an uncaught build failure is decisive
        failure = error
    recorder.write_record()
    chain, seen = failure, set()
    while chain is not None and id(chain) not in seen:
        seen.add(id(chain))
        if isinstance(chain, ExtensionBuildFailed):
            with open(os.path.join(request.scratch_dir, "compile.log"), "a") as log:
                log.write(str(chain) + "\n")
            return _compile_error(request, started, "Compilation failed:\n"
                                  + "\n".join(summary.compiler_lines(str(chain))),
                                  recorder, ["compile.log"])
        chain = chain.__cause__ or chain.__context__
    return {"event": "compiled", "compileMillis": (timing.wall_clock() - started) * 1000,
            "builds": [{"name": b.name, "ok": b.ok, "cached": b.cached, "millis": b.millis,
                        "error": "\n".join(summary.compiler_lines(b.error)) if b.error else None}
                       for b in recorder.builds]}


PROBE_SECONDS = 30


class _ProbeTimeout(Exception):
    pass


def _probe_forward(model: Any, get_inputs: Callable[[], Any], on_stage: Callable[[str], None]) -> None:
    """Calls forward once to reach builds made there. Bounded: a candidate that loops here is the
    evaluation's to judge (the JVM treats a kill in this stage as inconclusive, not as a verdict)."""
    on_stage("probe")

    def expire(signum: int, frame: Any) -> None:
        raise _ProbeTimeout()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(PROBE_SECONDS)
    try:
        model(*get_inputs())
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _compile_error(request: Request, started: float, error: str,
                   recorder: Optional[ExtensionRecorder] = None,
                   logs: Optional[List[str]] = None) -> Dict[str, Any]:
    checks = [{"name": name, "outcome": "SKIPPED", "detail": "not reached: compile failed"}
              for name in names.CHECKS]
    builds = [{"name": b.name, "ok": b.ok, "cached": b.cached,
               "error": "\n".join(summary.compiler_lines(b.error)) if b.error else None}
              for b in (recorder.builds if recorder else [])]
    verdict = {"candidateId": request.id, "problemId": request.extra.get("problemId"),
               "status": "COMPILE_ERROR", "stage": "compile",
               "stageMillis": {"compile": round((timing.wall_clock() - started) * 1000, 3)},
               "correctness": None, "timing": None, "checks": checks,
               "customKernel": {"used": False, "kind": "none", "builds": builds,
                                "kernelsLaunched": [], "callsReference": False} if builds else None,
               "environment": None, "device": None, "logs": logs or [], "error": error,
               "kernelbench": {"rules": request.kernelbench_rules, "compiled": False, "correct": False,
                               "differences": []}}
    verdict["summary"] = summary.for_verdict(verdict)
    return {"event": "result", "verdict": verdict}

"""The JSON-lines wire format between the worker JVM and the harness.

Every line carries ``"v": 1``. The harness writes ``ready`` once it has imported torch (and, for
evaluation processes, brought the device up), ``stage`` when it enters a stage (so the JVM knows
which stage a kill belongs to), and one ``result`` line per request.
"""
from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, TextIO

WIRE_VERSION = 1

_write_lock = threading.Lock()
_owner_pid = os.getpid()


def send(out: TextIO, message: Dict[str, Any]) -> None:
    # A forked copy of this process must never speak for the harness.
    if os.getpid() != _owner_pid:
        return
    line = json.dumps({"v": WIRE_VERSION, **message}, allow_nan=False, default=str)
    with _write_lock:
        out.write(line + "\n")
        out.flush()


@dataclass
class Request:
    """One candidate to compile, evaluate, or both (``oneshot``, the one-at-a-time baseline)."""

    id: str
    mode: str
    problem_path: str
    candidate_path: str
    backend: str
    build_dir: str
    scratch_dir: str
    token: str = ""
    ext_dir: Optional[str] = None
    seed: int = 42
    correctness_trials: int = 5
    atol: float = 1e-2
    rtol: float = 1e-2
    warmup_runs: int = 10
    timing_trials: int = 100
    flush_l2: bool = True
    require_custom_kernel: bool = False
    reference_timing: Optional[Dict[str, Any]] = None
    drift_trials: int = 10
    drift_tolerance: float = 0.05
    cpus: Optional[List[int]] = None
    kernelbench_rules: str = "v0.1"
    # A folder holding torch/extension.h.gch (headers.py), searched first by C++ builds; None builds without it.
    pch_dir: Optional[str] = None
    extra: Dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def parse(line: str) -> "Request":
        raw = json.loads(line)
        known = {k: raw[k] for k in Request.__dataclass_fields__ if k in raw}
        # A headers request (headers.py) concerns no candidate: its paths are not needed.
        needed = ("id", "mode", "backend", "scratch_dir") if raw.get("mode") == "headers" else (
            "id", "mode", "problem_path", "candidate_path", "backend", "build_dir", "scratch_dir")
        missing = [k for k in needed if k not in known]
        if missing:
            raise ValueError("request is missing " + ", ".join(missing))
        known.setdefault("problem_path", "")
        known.setdefault("candidate_path", "")
        known.setdefault("build_dir", known["scratch_dir"])
        if known["mode"] not in ("compile", "evaluate", "oneshot", "headers"):
            raise ValueError("mode must be compile, evaluate, oneshot or headers, got " + str(known["mode"]))
        if known["backend"] not in ("cuda", "triton", "cpu"):
            raise ValueError("backend must be cuda, triton or cpu, got " + str(known["backend"]))
        return Request(**known)

"""The anti-cheat checks, one function per check (named in names.json), each given the running Evaluation.

`after_candidate` runs after every piece of candidate code; the others run once, in the anti-cheat and timing
stages. A failed check either rejects at once (`ev.reject`) or waits for the stage's end (`ev.defer`), so that
KernelBench's answer, which knows no anti-cheat checks, can still be computed.
"""
from __future__ import annotations

import copy
import os
import threading
from typing import TYPE_CHECKING, Any, List, Optional, Sequence

import torch

from . import compare, flags, isolation, summary, timing
from .loader import TritonLaunches

if TYPE_CHECKING:
    from .stages import Evaluation

# Input distributions tried when the reference output is degenerate at the default inputs:
# (scale, shift) applied to every floating-point input tensor.
EXTRA_DISTRIBUTIONS = [(10.0, 0.0), (100.0, 0.0), (1.0, -0.5), (4.0, -2.0), (1e3, 0.0), (1e4, 0.0),
                       (1e5, 0.0)]
SUSPICIOUS_SPEEDUP = 10.0
# fp64 runs 30-60x slower than fp32 on data-centre GPUs (far more for convolutions without fp64 kernels):
# the numeric precision check is skipped where it would cost seconds; the flag checks always run.
FP64_BUDGET_MS = 50.0
FP64_MAX_ELEMENTS = 1 << 28


class Decided(Exception):
    """Ends the evaluation with a status; `error` is the text the summary leads with."""

    def __init__(self, status: str, error: Optional[str] = None):
        super().__init__(status)
        self.status = status
        self.error = error


def after_candidate(ev: Evaluation, phase: str) -> None:
    if ev.kernelbench_only:
        return
    changed = ev.integrity.violations() if hasattr(ev, "integrity") else []
    if changed:
        ev.integrity.restore()
        ev.reject("timer_integrity", f"during {phase} the candidate replaced "
                  + ", ".join(changed[:6]) + ": timers and checks must not be patched")
    now = flags.current()
    if now != ev.flags:
        lowered = flags.downgrades(now)
        if lowered:
            # Rejected when the stage ends; until then the candidate keeps its flags (as it would under
            # KernelBench) and the reference keeps PyTorch's defaults.
            ev.defer("precision", f"during {phase} the candidate lowered fp32 precision below "
                     f"PyTorch's defaults {lowered}: a precision downgrade, not a faster kernel")
        # Other flags (cudnn.benchmark, stricter settings) are the candidate's own business; the reference
        # keeps running with the defaults.
        ev.flags = now
        ev.candidate_flags = {k: str(v) for k, v in now.items() if flags.DEFAULTS.get(k) != v}
    if isolation.forks:
        ev.reject("background_work", f"during {phase} the candidate forked "
                  f"{len(isolation.forks)} process(es)")
    children = isolation.live_children()
    if children:
        isolation.kill_all(children)
        ev.reject("background_work", f"during {phase} the candidate started process(es) "
                  "that outlived the call")
    detached = isolation.strays()
    if detached:
        names = ", ".join(isolation.describe(pid) for pid in detached[:3])
        isolation.kill_all(detached)
        ev.reject("background_work", f"during {phase} the candidate left {len(detached)} detached "
                  f"process(es) running ({names}): work outside the timed call")
    threads = [t for t in threading.enumerate() if t not in ev.thread_baseline
               and t.is_alive() and not _library_thread(t)]
    if threads:
        ev.reject("background_work", f"{len(threads)} thread(s) started by the candidate "
                  f"were still running after {phase} returned ({threads[0].name}): work "
                  "outside the timed call")


def count_reference_calls(ev: Evaluation, model_class: type) -> None:
    original = model_class.forward
    evaluation = ev

    def forward(model_self: Any, *args: Any, **kwargs: Any) -> Any:
        if evaluation.in_candidate:
            evaluation.reference_calls += 1
        return original(model_self, *args, **kwargs)

    model_class.forward = forward


def degeneracy(ev: Evaluation) -> None:
    req = ev.req
    refs = ev.reference_outputs
    reasons = []
    if all(compare.zero_passes(r, req.atol, req.rtol) for r in refs):
        reasons.append("an all-zero output passes")
    elif all(compare.constant_passes(r, req.atol, req.rtol) for r in refs):
        reasons.append("a constant output passes")
    if len(refs) > 1 and all(compare.compare(refs[0], r, req.atol, req.rtol).ok
                             for r in refs[1:]):
        reasons.append("the output does not depend on the inputs")
    if not reasons:
        ev.check("degenerate_output", "PASSED", "reference output is informative")
        return
    reason = " and ".join(reasons) + " at the default inputs"
    for scale, shift in EXTRA_DISTRIBUTIONS:
        informative, ref_out, outs = _try_distribution(ev, scale, shift, refs[0])
        if not informative:
            continue
        label = f"inputs x{scale:g}{shift:+g}"
        result = compare.compare(ref_out, outs, req.atol, req.rtol)
        ev.correctness["degenerate"] = {"degenerate": True, "reason": reason,
                                          "resolvedWithExtraInputs": True}
        if not result.ok:
            m = result.mismatch.as_dict(0) if result.mismatch else {}
            ev.reject("degenerate_output", f"the reference output is degenerate ({reason}); "
                      f"with {label} it is not, and the candidate is wrong there (index "
                      f"{m.get('index')}: expected {m.get('expected')}, got "
                      f"{m.get('actual')}): it only passed because {reasons[0]}")
        ev.check("degenerate_output", "PASSED", f"reference degenerate ({reason}); the "
                 f"candidate also matches with {label}")
        return
    ev.correctness["degenerate"] = {"degenerate": True, "reason": reason,
                                      "resolvedWithExtraInputs": False}
    ev.check("degenerate_output", "FLAGGED", f"problem is degenerate ({reason}) for every "
             "input distribution tried: correctness here is weak evidence")


def _try_distribution(ev: Evaluation, scale: float, shift: float, default_ref: Sequence[Any]):
    req = ev.req
    inputs = [x * scale + shift if isinstance(x, torch.Tensor) and x.is_floating_point()
              else x for x in ev.inputs(req.seed + 1)]
    with torch.no_grad():
        ref_out = compare.flatten(ev.reference(*compare.clone(inputs)))
    tensors = [t for t in ref_out if isinstance(t, torch.Tensor)]
    if not tensors or not all(bool(torch.isfinite(t).all()) for t in tensors
                              if t.is_floating_point()):
        return False, None, None
    if compare.zero_passes(ref_out, req.atol, req.rtol) or compare.constant_passes(
            ref_out, req.atol, req.rtol):
        return False, None, None
    outs = ev.forward(compare.clone(inputs))
    ev.sync()
    return True, ref_out, outs


def precision(ev: Evaluation) -> None:
    first = ev.first_trial
    outs = [o for o in first["outs"] if isinstance(o, torch.Tensor)]
    if not outs or any(o.dtype != torch.float32 for o in outs):
        ev.check("precision", "PASSED", "precision flags untouched (outputs are not fp32: "
                 "no fp64 comparison)")
        return
    elements = sum(x.numel() for x in first["inputs"] if isinstance(x, torch.Tensor))
    if elements > FP64_MAX_ELEMENTS:
        ev.check("precision", "PASSED", "precision flags untouched (no fp64 comparison: "
                 f"{elements} input elements)")
        return
    if ev.reference_ms > FP64_BUDGET_MS:
        ev.check("precision", "PASSED", "precision flags untouched (no fp64 comparison: the "
                 f"reference takes {ev.reference_ms:.0f} ms in fp32)")
        return
    try:
        wide = copy.deepcopy(ev.reference).double()
        inputs = [x.double() if isinstance(x, torch.Tensor) and x.is_floating_point() else x
                  for x in first["inputs"]]
        with torch.no_grad():
            exact = compare.flatten(wide(*inputs))
        del wide
    except Exception as error:  # some ops have no fp64 kernel: the flag checks still hold
        ev.check("precision", "PASSED", "precision flags untouched (fp64 reference "
                 f"unavailable: {type(error).__name__})")
        return
    ref_err = max(compare.relative_error(e, r) for e, r in zip(exact, first["ref"]))
    cand_err = max(compare.relative_error(e, c) for e, c in zip(exact, outs))
    detail = (f"relative error vs an fp64 reference: candidate {cand_err:.2e}, PyTorch fp32 "
              f"{ref_err:.2e}")
    if cand_err > 3e-5 and cand_err > 30 * max(ref_err, 1e-7):
        ev.check("precision", "FLAGGED", detail + ": the candidate computes in lower "
                 "precision than fp32 (TF32, fp16 or bf16 inside)")
    else:
        ev.check("precision", "PASSED", detail + "; the reference ran with PyTorch's default "
                 "flags" + (f", the candidate with {ev.candidate_flags}" if ev.candidate_flags
                 else ""))


def custom_kernel(ev: Evaluation) -> None:
    declared_cuda = ev.recorder.declared_kernels()
    declared_triton = TritonLaunches.declared(ev.candidate_module) if (
        ev.backend == "triton") else []
    launched: List[str] = []
    if ev.device.type == "cuda":
        launched = _profile_kernels(ev)
    ext_calls = ev.recorder.total_calls()
    triton_calls = sum(ev.triton.calls.values())
    if ev.device.type == "cuda":
        used_cuda = any(any(name in k for k in launched) for name in declared_cuda)
        used_triton = triton_calls > 0 or any(any(name in k for k in launched)
                                              for name in declared_triton)
        used = used_cuda or used_triton
        kind = "cuda_extension" if used_cuda else "triton" if used_triton else "none"
    else:
        used = ext_calls > 0
        kind = "cpp_extension" if used else "none"
    failed = ev.recorder.failed_builds()
    builds = [{"name": b.name, "ok": b.ok, "cached": b.cached,
               "error": "\n".join(summary.compiler_lines(b.error or "")) if b.error else None}
              for b in ev.recorder.builds]
    ev.custom = {"used": used, "kind": kind, "builds": builds,
                   "kernelsLaunched": launched[:20],
                   "callsReference": ev.reference_calls > 0}
    if failed:
        lines = summary.compiler_lines(failed[0].error or "")
        ev.check("extension_build", ev.severity, f"the build of extension "
                 f"'{failed[0].name}' failed and the candidate fell back to PyTorch; what "
                 "was measured is not a custom kernel. Compiler: " + " | ".join(lines[:6]))
    else:
        ev.check("extension_build", "PASSED", f"{len(builds)} extension build(s), all ok")
    declared = declared_cuda + declared_triton
    if ev.device.type != "cuda":
        # C++ extensions have no __global__ kernels: what they define is their built functions.
        declared = declared + [b.name for b in ev.recorder.builds if b.ok]
    if declared and not used and not failed:
        ev.check("decoy_kernel", ev.severity, "kernel(s) " + ", ".join(declared[:5])
                 + " are defined but never launched: forward computes with PyTorch ops")
    else:
        ev.check("decoy_kernel", "PASSED", "every defined kernel family was launched"
                 if declared else "no custom kernel defined")
    if used:
        ev.check("custom_kernel", "PASSED", f"custom kernel launched ({kind})")
    elif not failed and not declared:
        ev.check("custom_kernel", ev.severity, "no custom kernel: the candidate is plain "
                 "PyTorch (a legitimate KernelBench answer, but not a kernel)")
    else:
        ev.check("custom_kernel", ev.severity, "no custom kernel was launched")
    if ev.reference_calls:
        ev.check("calls_reference", ev.severity, "forward calls the problem's reference "
                 "Model: the speedup is the reference's own")
    else:
        ev.check("calls_reference", "PASSED", "the reference Model is never called")
    ev.check("background_work", "PASSED", "no threads or processes outlive a call")
    ev.check("timer_integrity", "PASSED", "timers, comparisons and harness untouched")
    ev.check("plain_tensor_output", "PASSED", "outputs are plain torch.Tensor")


def _profile_kernels(ev: Evaluation) -> List[str]:
    try:
        from torch.profiler import ProfilerActivity, profile
    except ImportError:
        return []
    inputs = compare.clone(ev.first_trial["inputs"])
    try:
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            ev.forward(inputs)
            ev.sync()
        names = []
        for event in prof.events():
            device_type = str(getattr(event, "device_type", ""))
            if "CUDA" in device_type and event.name not in names:
                names.append(event.name)
        return names
    except Decided:
        raise
    except Exception:
        return []


def persisting_l2(ev: Evaluation) -> None:
    if ev.device.type != "cuda":
        ev.check("persisting_l2", "SKIPPED", "no L2 residency controls on cpu")
        return
    limit = persisting_l2_limit()
    if limit is None or ev.l2_baseline is None:
        ev.check("persisting_l2", "SKIPPED", "cudaDeviceGetLimit unavailable")
    elif limit != ev.l2_baseline:
        ev.reject("persisting_l2", f"the candidate changed the persisting-L2 reservation from "
                  f"{ev.l2_baseline} to {limit} bytes: timings with a flushed L2 would not be "
                  "comparable")
    else:
        ev.check("persisting_l2", "PASSED", f"persisting-L2 reservation unchanged ({limit} bytes, "
                 "the device's own setting)")


def hidden_stream_work(ev: Evaluation, ref: timing.Stats, cand: timing.Stats) -> None:
    if ref.sync_median_ms is None or cand.sync_median_ms is None:
        return
    cand_gap = cand.sync_median_ms - cand.median_ms
    ref_gap = ref.sync_median_ms - ref.median_ms
    if cand.median_ms < 0.5 * cand.sync_median_ms and cand_gap > max(3 * ref_gap, 0.02):
        ev.reject("stream_sync", f"{cand_gap:.3f} ms of the candidate's "
                  f"{cand.sync_median_ms:.3f} ms (device-synchronised) ran outside the current "
                  "stream without it waiting: the output is not ordered before its consumer")


def suspicious(ev: Evaluation, speedup: Optional[float], timer: timing.Timer) -> None:
    if speedup is None or speedup <= SUSPICIOUS_SPEEDUP:
        ev.check("suspicious_speedup", "PASSED", f"speedup {speedup or 0:.2f}x is below "
                 f"{SUSPICIOUS_SPEEDUP:g}x: no re-timing needed")
        return
    ref_times, cand_times, ref_wall, cand_wall = [], [], [], []
    for k in range(5):
        inputs = ev.inputs(ev.req.seed + 1000 + k)
        started = timing.wall_clock()
        full, _, _ = timer.time_call(lambda: ev.reference_forward(inputs))
        ref_wall.append((timing.wall_clock() - started) * 1000)
        ref_times.append(full)
        started = timing.wall_clock()
        full, _, _ = ev.run_candidate(
            lambda: timer.time_call(lambda: no_grad_call(ev.candidate, inputs)), "timing")
        cand_wall.append((timing.wall_clock() - started) * 1000)
        cand_times.append(full)
    fresh_speedup = sorted(ref_times)[2] / max(sorted(cand_times)[2], 1e-9)
    wall_speedup = sorted(ref_wall)[2] / max(sorted(cand_wall)[2], 1e-9)
    detail = (f"{speedup:.1f}x on repeated inputs; with fresh inputs each call {fresh_speedup:.1f}x "
              f"(events), {wall_speedup:.1f}x (wall clock)")
    if fresh_speedup < speedup / 3:
        ev.reject("suspicious_speedup", detail + ": the speed comes from reusing results "
                  "across calls, not from computing them")
    ev.check("suspicious_speedup", "PASSED", detail)


def reference_reuses(ev: Evaluation, inputs: Sequence[Any]) -> bool:
    with torch.no_grad():
        a = compare.flatten(ev.reference(*inputs))
        b = compare.flatten(ev.reference(*inputs))
    return compare.any_overlap(a, b)


def persisting_l2_limit() -> Optional[int]:
    import ctypes
    try:
        cudart = ctypes.CDLL("libcudart.so")
    except OSError:
        try:
            lib = os.path.join(os.path.dirname(torch.__file__), "lib")
            names = [n for n in os.listdir(lib) if n.startswith("libcudart")]
            cudart = ctypes.CDLL(os.path.join(lib, names[0])) if names else None
        except OSError:
            cudart = None
    if cudart is None:
        return None
    value = ctypes.c_size_t(0)
    # cudaLimitPersistingL2CacheSize = 0x06
    if cudart.cudaDeviceGetLimit(ctypes.byref(value), 0x06) != 0:
        return None
    return int(value.value)


def _library_thread(thread: threading.Thread) -> bool:
    target = getattr(thread, "_target", None)
    code = getattr(target, "__code__", None)
    filename = getattr(code, "co_filename", "") or ""
    return ("/torch/" in filename or "/triton/" in filename) and "kfarm_candidate" not in filename


def no_grad_call(model: Any, inputs: Sequence[Any]) -> Any:
    with torch.no_grad():
        return model(*inputs)

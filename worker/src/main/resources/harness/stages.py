"""The verification stages, in order: static → compile → load → correctness → anti-cheat → timing.

Each stage may end the evaluation with a status (a `Decided`); everything the candidate does runs
through `_run_candidate`, which turns its exceptions into statuses and checks, after every piece
of candidate code, that it left the timer, the flags, the threads and the processes alone.
"""
from __future__ import annotations

import ast
import copy
import os
import signal
import threading
import traceback
import uuid
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

from . import compare, isolation, summary, timing
from .integrity import Integrity
from .loader import ExtensionBuildFailed, ExtensionRecorder, TritonLaunches, import_file
from .protocol import Request

CHECKS = ["timer_integrity", "input_mutation", "output_aliasing", "result_reuse", "stream_sync",
          "background_work", "plain_tensor_output", "determinism", "precision",
          "degenerate_output", "custom_kernel", "decoy_kernel", "extension_build",
          "calls_reference", "persisting_l2", "suspicious_speedup"]

# Input distributions tried when the reference output is degenerate at the default inputs:
# (scale, shift) applied to every floating-point input tensor.
EXTRA_DISTRIBUTIONS = [(10.0, 0.0), (100.0, 0.0), (1.0, -0.5), (4.0, -2.0), (1e3, 0.0), (1e4, 0.0),
                       (1e5, 0.0)]
SUSPICIOUS_SPEEDUP = 10.0
# fp64 runs 30-60x slower than fp32 on data-centre GPUs (far more for convolutions without fp64 kernels):
# the numeric precision check is skipped where it would cost seconds; the flag checks always run.
FP64_BUDGET_MS = 50.0
FP64_MAX_ELEMENTS = 1 << 28
_CUDA_FAILURE = ("CUDA error", "illegal memory access", "device-side assert", "CUBLAS_STATUS",
                 "cudaError", "unspecified launch failure", "misaligned address",
                 "an illegal instruction")


class Decided(Exception):
    """Ends the evaluation with a status; `error` is the text the summary leads with."""

    def __init__(self, status: str, error: Optional[str] = None):
        super().__init__(status)
        self.status = status
        self.error = error


class Evaluation:
    def __init__(self, request: Request, on_stage: Callable[[str], None],
                 environment: Dict[str, Any]):
        self.req = request
        self.on_stage = on_stage
        self.environment = environment
        self.backend = request.backend
        self.device = torch.device("cuda" if request.backend != "cpu" else "cpu")
        self.stage = "static"
        self.stage_started = timing.wall_clock()
        self.stage_ms: Dict[str, float] = {}
        self.checks: Dict[str, Tuple[str, str]] = {}
        self.correctness: Optional[Dict[str, Any]] = None
        self.timing: Optional[Dict[str, Any]] = None
        self.custom: Optional[Dict[str, Any]] = None
        self.logs: List[str] = []
        self.device_poisoned = False
        self.severity = "FAILED" if request.require_custom_kernel else "FLAGGED"
        self.uid = uuid.uuid4().hex[:8]
        self.recorder = ExtensionRecorder("build" if request.mode == "oneshot" else "replay",
                                          request.build_dir, timing.wall_clock, request.ext_dir,
                                          lambda active: on_stage("build" if active else self.stage))
        self.triton = TritonLaunches()
        self.reference_calls = 0
        self.in_candidate = False
        self.thread_baseline: set = set()
        self.candidate_flags: Dict[str, str] = {}
        self.deferred: Dict[str, str] = {}
        self.kernelbench_only = False
        self.kernelbench: Dict[str, Any] = {"rules": request.kernelbench_rules, "compiled": False,
                                            "correct": False}

    # ---------------------------------------------------------------- driver
    def run(self) -> Dict[str, Any]:
        status, error = "CORRECT", None
        try:
            self._static()
            self._load()
            self._correctness()
            self._raise_deferred()
            self._anticheat()
            self._raise_deferred()
            self._timing()
            self._raise_deferred()
            if any(outcome == "FAILED" for outcome, _ in self.checks.values()):
                status = "REJECTED"
        except Decided as decided:
            status, error = decided.status, decided.error
            if status == "REJECTED" and self.kernelbench.get("correct") and self.timing is None:
                self._time_for_kernelbench()
        finally:
            self._close_stage()
            self.recorder.uninstall()
        return self._verdict(status, error)

    def _defer(self, name: str, detail: str) -> None:
        """A rejection that waits until the stage ends, so KernelBench's answer (which knows no anti-cheat
        checks) can still be computed from the remaining trials."""
        if name not in self.deferred:
            self.deferred[name] = detail

    def _raise_deferred(self) -> None:
        if self.deferred:
            for name, detail in self.deferred.items():
                self._check(name, "FAILED", detail)
            raise Decided("REJECTED", None)

    def _time_for_kernelbench(self) -> None:
        """KernelBench would time a candidate our checks rejected: so do we, for its answer only."""
        stage = self.stage
        self.kernelbench_only = True  # the checks already decided; here only the clock matters
        try:
            self._timing()
        except Decided:
            pass
        finally:
            self.kernelbench_only = False
        self._close_stage()
        self.stage = stage

    def _enter(self, stage: str) -> None:
        self._close_stage()
        self.stage = stage
        self.stage_started = timing.wall_clock()
        self.on_stage(stage)

    def _close_stage(self) -> None:
        self.stage_ms[self.stage] = round((timing.wall_clock() - self.stage_started) * 1000, 3)

    def _check(self, name: str, outcome: str, detail: str) -> None:
        self.checks[name] = (outcome, detail)

    def _reject(self, name: str, detail: str) -> None:
        self._check(name, "FAILED", detail)
        raise Decided("REJECTED", None)

    # ---------------------------------------------------------------- stages
    def _static(self) -> None:
        with open(self.req.candidate_path, encoding="utf-8", errors="replace") as f:
            self.source = f.read()
        try:
            self.tree = ast.parse(self.source, filename=self.req.candidate_path)
        except SyntaxError as error:
            raise Decided("COMPILE_ERROR", f"Python syntax error at line {error.lineno}: "
                                           f"{error.msg}\n  {(error.text or '').strip()}")
        if not any(isinstance(node, ast.ClassDef) and node.name == "ModelNew"
                   for node in ast.walk(self.tree)) and "ModelNew" not in self.source:
            raise Decided("COMPILE_ERROR", "The candidate defines no class ModelNew.")

    def _load(self) -> None:
        self._enter("load")
        problem = self._problem(lambda: import_file(self.req.problem_path, "kfarm_problem_" + self.uid),
                                "importing it")
        for name in ("Model", "get_inputs", "get_init_inputs"):
            if not hasattr(problem, name):
                self._problem(lambda: getattr(problem, name), f"its definitions ({name} is missing)")
        self.Model = problem.Model
        self.get_inputs = problem.get_inputs
        self.get_init_inputs = problem.get_init_inputs
        self._count_reference_calls(self.Model)
        self.integrity = Integrity()
        self.integrity.watch(problem, ["Model", "get_inputs", "get_init_inputs"])
        self.integrity.watch(self.Model, ["forward", "__call__"])
        self.l2_baseline = _persisting_l2_limit() if self.device.type == "cuda" else None
        self.recorder.install()
        if self.backend == "triton":
            self.triton.install()
        _set_flags(DEFAULT_FLAGS)
        self.flags = dict(DEFAULT_FLAGS)
        self.thread_baseline = set(threading.enumerate())
        os.chdir(self.req.scratch_dir)
        module = self._run_candidate(
            lambda: import_file(self.req.candidate_path, "kfarm_candidate_" + self.uid), "import")
        self.candidate_module = module
        self.kernelbench["compiled"] = True
        copied = getattr(module, "Model", None)
        if isinstance(copied, type) and copied is not self.Model:
            # A copy of the reference inside the candidate counts as calling the reference.
            self._count_reference_calls(copied)
        model_new = getattr(module, "ModelNew", None)
        if model_new is None:
            raise Decided("COMPILE_ERROR", "The candidate defines no class ModelNew.")
        with torch.no_grad():
            torch.manual_seed(self.req.seed)
            init = self._problem(lambda: self._to_device(self.get_init_inputs()), "get_init_inputs()")
            torch.manual_seed(self.req.seed)
            self.reference = _PyTorchDefaults(self._problem(lambda: self.Model(*init).to(self.device),
                                                            "constructing Model"))
            torch.manual_seed(self.req.seed)
            self.candidate = self._run_candidate(
                lambda: model_new(*init).to(self.device), "construct")
        self.init_inputs = init

    def _correctness(self) -> None:
        self._enter("correctness")
        req = self.req
        torch.manual_seed(req.seed)
        # KernelBench's own draw of the trial seeds (run_and_check_correctness), value for value.
        seeds = [int(torch.randint(0, 2 ** 32 - 1, (1,)).item())
                 for _ in range(req.correctness_trials)]
        # Only the previous trial stays alive: enough for fresh addresses in every trial (a result
        # cached by pointer or a graph captured on trial 0 goes stale on trial 1) at a bounded cost in
        # memory (level-1 tensors reach 6.4 GB).
        previous: Optional[Dict[str, Any]] = None
        self.first_trial: Optional[Dict[str, Any]] = None
        self.reference_outputs: List[List[Any]] = []
        ref_mutates = ref_aliases = False
        passed = kb_passed = 0
        max_abs = max_rel = 0.0
        mismatch = None
        self.kernelbench["trials"] = len(seeds)
        for t, trial_seed in enumerate(seeds):
            inputs = self._inputs(trial_seed)
            pristine = compare.fingerprint(inputs)
            cand_in = _clone(inputs)
            started = timing.wall_clock()
            with torch.no_grad():
                ref_out = compare.flatten(self._problem(lambda: self.reference(*inputs), "Model.forward"))
            self._sync()
            if t == 0:
                self.reference_ms = (timing.wall_clock() - started) * 1000
            ref_mutates |= not compare.same_fingerprint(compare.fingerprint(inputs), pristine)
            ref_aliases |= _any_overlap(ref_out, inputs)
            _poison_free_memory(ref_out)
            torch.manual_seed(trial_seed)
            outs = self._forward(cand_in)
            # Released only now, so the candidate's output could not land in memory that held the inputs
            # (for ReLU of non-negative inputs that memory already holds the right answer).
            del inputs
            # Read right away, on the current stream, before any synchronisation: what a consumer sees.
            at_return = compare.fingerprint(outs)
            self._sync()
            if not compare.same_fingerprint(at_return, compare.fingerprint(outs)):
                self._defer("stream_sync", f"trial {t}: the output was still being written after "
                             "forward returned (work on another stream or thread that the current "
                             "stream does not wait for); a consumer would read garbage")
            if not ref_mutates and not compare.same_fingerprint(compare.fingerprint(cand_in), pristine):
                self._defer("input_mutation", f"trial {t}: the candidate modified its input "
                             "tensors in place; the reference leaves them untouched")
            if not ref_aliases and _any_overlap(outs, cand_in):
                self._defer("output_aliasing", f"trial {t}: the output shares memory with an "
                             "input tensor; the reference returns fresh memory")
            if previous is not None and not compare.same_fingerprint(
                    compare.fingerprint(previous["outs"]), previous["print"]):
                self._defer("result_reuse", f"trial {t}: calling forward again changed the output "
                             f"returned in trial {t - 1}: the candidate reuses one output buffer "
                             "across calls")
            result = compare.compare(ref_out, outs, req.atol, req.rtol)
            kb_atol, kb_rtol = _kernelbench_tolerance(req.kernelbench_rules, ref_out, req)
            self.kernelbench.update({"atol": kb_atol, "rtol": kb_rtol})
            if (result.ok if (kb_atol, kb_rtol) == (req.atol, req.rtol)
                    else compare.compare(ref_out, outs, kb_atol, kb_rtol).ok):
                kb_passed += 1
            if not result.ok:
                # Sampled alike, so samples of every earlier trial's reference stand in for the whole.
                seen, mine = _small_view(outs), _small_view(ref_out)
                for j, earlier in enumerate(self.reference_outputs):
                    if compare.compare(earlier, seen, req.atol, req.rtol).ok \
                            and not compare.compare(earlier, mine, req.atol, req.rtol).ok:
                        self._defer("result_reuse", f"trial {t} returned the result of trial {j}: "
                                    "the output is stale when inputs change or move (a captured CUDA "
                                    "graph, cached pointers or a result cache)")
                if mismatch is None:
                    mismatch = result.mismatch.as_dict(t) if result.mismatch else None
            else:
                passed += 1
            if result.max_abs is not None:
                max_abs = max(max_abs, result.max_abs)
                max_rel = max(max_rel, result.max_rel or 0.0)
            trial = {"trial": t, "seed": trial_seed, "inputs": cand_in, "ref": ref_out, "outs": outs,
                     "print": at_return}
            self.reference_outputs.append(_small_view(ref_out))
            previous = trial
        # The anti-cheat stage works on the last trial, the one still alive.
        self.first_trial = previous
        self.kernelbench.update({"trialsPassed": kb_passed, "correct": kb_passed == len(seeds)})
        if "input_mutation" not in self.deferred:
            self._check("input_mutation", "PASSED", "inputs unchanged after every call"
                        + (" (the reference itself mutates them)" if ref_mutates else ""))
        if "output_aliasing" not in self.deferred:
            self._check("output_aliasing", "PASSED", "outputs never share memory with inputs"
                        if not ref_aliases else "the reference's output aliases its input too")
        if "stream_sync" not in self.deferred:
            self._check("stream_sync", "PASSED", "outputs complete when forward returns")
        self.correctness = {"trials": len(seeds), "passed": passed, "maxAbsError": max_abs,
                            "maxRelError": max_rel, "atol": req.atol, "rtol": req.rtol,
                            "firstMismatch": mismatch, "degenerate": None}
        self._raise_deferred()  # a cheat caught on the way outranks the wrong answer it led to
        if passed < len(seeds):
            raise Decided("INCORRECT", None)

    def _anticheat(self) -> None:
        self._enter("anticheat")
        req = self.req
        first = self.first_trial
        # Same inputs, same addresses, twice: a cached result comes back as the same buffer.
        again = self._forward(_clone(first["inputs"]))
        held = self._forward(first["inputs"])
        twice = self._forward(first["inputs"])
        self._sync()
        if _any_overlap(held, twice) and not self._reference_reuses(first["inputs"]):
            self._reject("result_reuse", "two calls returned the same output buffer: results are "
                         "cached or an output buffer is reused across calls")
        self._check("result_reuse", "PASSED", "fresh output per call; fresh input addresses in "
                    "every trial gave fresh results")
        deterministic = [compare.compare(first["outs"], o, req.atol, req.rtol) for o in (again, twice)]
        if not all(c.ok for c in deterministic):
            bad = next(c for c in deterministic if not c.ok)
            where = bad.mismatch.as_dict(0) if bad.mismatch else {}
            self._reject("determinism", "re-running on identical inputs gave a different answer "
                         f"(index {where.get('index')}: {where.get('expected')} then "
                         f"{where.get('actual')}): a race or uninitialised memory")
        bitwise = compare.identical(first["outs"], again) and compare.identical(first["outs"], twice)
        self._check("determinism", "PASSED", "identical inputs, identical answers" + (
            " (bit for bit)" if bitwise else " (within tolerance, not bit for bit)"))
        del again, held, twice
        self._degeneracy()
        self._precision()
        self._custom_kernel()
        self._persisting_l2()

    def _timing(self) -> None:
        self._enter("timing")
        req = self.req
        self.first_trial = None
        self.reference_outputs = []
        inputs = self._inputs(req.seed)
        timer = self._timer()
        # The candidate is timed bare; the checks that follow candidate code run once afterwards,
        # so they cost the candidate nothing inside the timed region.
        # The bare reference, with PyTorch's defaults set before its timed calls (not inside them, where
        # setting flags would add host time to small kernels), and the candidate's flags before its own.
        bare = self.reference.model
        calls = {"reference": lambda: _no_grad_call(bare, inputs),
                 "candidate": lambda: _no_grad_call(self.candidate, inputs)}
        candidate_flags = dict(self.flags)
        prepare = None if candidate_flags == DEFAULT_FLAGS else {
            "reference": lambda: _set_flags(DEFAULT_FLAGS),
            "candidate": lambda: _set_flags(candidate_flags)}
        cached = req.reference_timing
        trials = {"candidate": req.timing_trials, "reference": req.timing_trials}
        if cached:
            trials["reference"] = min(req.drift_trials, req.timing_trials)
        stats = self._run_candidate(
            lambda: timing.interleaved(timer, calls, trials, req.warmup_runs, prepare), "timing")
        source = "measured"
        if cached:
            previous = timing.Stats.from_dict(cached)
            drift = stats["reference"].median_ms / previous.median_ms - 1.0
            if abs(drift) <= req.drift_tolerance:
                stats["reference"] = previous
                source = f"cached ({drift * 100:+.1f}% drift on {trials['reference']} trials)"
            else:
                full = timing.interleaved(timer, {"reference": calls["reference"]},
                                          {"reference": req.timing_trials}, 0, prepare)
                stats["reference"] = full["reference"]
                source = f"measured (cache drifted {drift * 100:+.1f}%)"
        ref, cand = stats["reference"], stats["candidate"]
        speedup = ref.median_ms / cand.median_ms if cand.median_ms > 0 else None
        self.timing = {"method": timer.method, "reference": ref.as_dict(),
                       "candidate": cand.as_dict(), "speedup": speedup, "referenceSource": source}
        self._hidden_stream_work(ref, cand)
        self._suspicious(speedup, timer)

    # ---------------------------------------------------------------- anti-cheat parts
    def _degeneracy(self) -> None:
        req = self.req
        refs = self.reference_outputs
        reasons = []
        if all(compare.zero_passes(r, req.atol, req.rtol) for r in refs):
            reasons.append("an all-zero output passes")
        elif all(compare.constant_passes(r, req.atol, req.rtol) for r in refs):
            reasons.append("a constant output passes")
        if len(refs) > 1 and all(compare.compare(refs[0], r, req.atol, req.rtol).ok
                                 for r in refs[1:]):
            reasons.append("the output does not depend on the inputs")
        if not reasons:
            self._check("degenerate_output", "PASSED", "reference output is informative")
            return
        reason = " and ".join(reasons) + " at the default inputs"
        for scale, shift in EXTRA_DISTRIBUTIONS:
            informative, ref_out, outs = self._try_distribution(scale, shift, refs[0])
            if not informative:
                continue
            label = f"inputs x{scale:g}{shift:+g}"
            result = compare.compare(ref_out, outs, req.atol, req.rtol)
            self.correctness["degenerate"] = {"degenerate": True, "reason": reason,
                                              "resolvedWithExtraInputs": True}
            if not result.ok:
                m = result.mismatch.as_dict(0) if result.mismatch else {}
                self._reject("degenerate_output", f"the reference output is degenerate ({reason}); "
                             f"with {label} it is not, and the candidate is wrong there (index "
                             f"{m.get('index')}: expected {m.get('expected')}, got "
                             f"{m.get('actual')}): it only passed because {reasons[0]}")
            self._check("degenerate_output", "PASSED", f"reference degenerate ({reason}); the "
                        f"candidate also matches with {label}")
            return
        self.correctness["degenerate"] = {"degenerate": True, "reason": reason,
                                          "resolvedWithExtraInputs": False}
        self._check("degenerate_output", "FLAGGED", f"problem is degenerate ({reason}) for every "
                    "input distribution tried: correctness here is weak evidence")

    def _try_distribution(self, scale: float, shift: float, default_ref: Sequence[Any]):
        req = self.req
        inputs = [x * scale + shift if isinstance(x, torch.Tensor) and x.is_floating_point()
                  else x for x in self._inputs(req.seed + 1)]
        with torch.no_grad():
            ref_out = compare.flatten(self.reference(*_clone(inputs)))
        tensors = [t for t in ref_out if isinstance(t, torch.Tensor)]
        if not tensors or not all(bool(torch.isfinite(t).all()) for t in tensors
                                  if t.is_floating_point()):
            return False, None, None
        if compare.zero_passes(ref_out, req.atol, req.rtol) or compare.constant_passes(
                ref_out, req.atol, req.rtol):
            return False, None, None
        outs = self._forward(_clone(inputs))
        self._sync()
        return True, ref_out, outs

    def _precision(self) -> None:
        first = self.first_trial
        outs = [o for o in first["outs"] if isinstance(o, torch.Tensor)]
        if not outs or any(o.dtype != torch.float32 for o in outs):
            self._check("precision", "PASSED", "precision flags untouched (outputs are not fp32: "
                        "no fp64 comparison)")
            return
        elements = sum(x.numel() for x in first["inputs"] if isinstance(x, torch.Tensor))
        if elements > FP64_MAX_ELEMENTS:
            self._check("precision", "PASSED", "precision flags untouched (no fp64 comparison: "
                        f"{elements} input elements)")
            return
        if self.reference_ms > FP64_BUDGET_MS:
            self._check("precision", "PASSED", "precision flags untouched (no fp64 comparison: the "
                        f"reference takes {self.reference_ms:.0f} ms in fp32)")
            return
        try:
            wide = copy.deepcopy(self.reference).double()
            inputs = [x.double() if isinstance(x, torch.Tensor) and x.is_floating_point() else x
                      for x in first["inputs"]]
            with torch.no_grad():
                exact = compare.flatten(wide(*inputs))
            del wide
        except Exception as error:  # some ops have no fp64 kernel: the flag checks still hold
            self._check("precision", "PASSED", "precision flags untouched (fp64 reference "
                        f"unavailable: {type(error).__name__})")
            return
        ref_err = max(compare.relative_error(e, r) for e, r in zip(exact, first["ref"]))
        cand_err = max(compare.relative_error(e, c) for e, c in zip(exact, outs))
        detail = (f"relative error vs an fp64 reference: candidate {cand_err:.2e}, PyTorch fp32 "
                  f"{ref_err:.2e}")
        if cand_err > 3e-5 and cand_err > 30 * max(ref_err, 1e-7):
            self._check("precision", "FLAGGED", detail + ": the candidate computes in lower "
                        "precision than fp32 (TF32, fp16 or bf16 inside)")
        else:
            self._check("precision", "PASSED", detail + "; the reference ran with PyTorch's default "
                        "flags" + (f", the candidate with {self.candidate_flags}" if self.candidate_flags
                                   else ""))

    def _custom_kernel(self) -> None:
        declared_cuda = self.recorder.declared_kernels()
        declared_triton = TritonLaunches.declared(self.candidate_module) if (
            self.backend == "triton") else []
        launched: List[str] = []
        if self.device.type == "cuda":
            launched = self._profile_kernels()
        ext_calls = self.recorder.total_calls()
        triton_calls = sum(self.triton.calls.values())
        if self.device.type == "cuda":
            used_cuda = any(any(name in k for k in launched) for name in declared_cuda)
            used_triton = triton_calls > 0 or any(any(name in k for k in launched)
                                                  for name in declared_triton)
            used = used_cuda or used_triton
            kind = "cuda_extension" if used_cuda else "triton" if used_triton else "none"
        else:
            used = ext_calls > 0
            kind = "cpp_extension" if used else "none"
        failed = self.recorder.failed_builds()
        builds = [{"name": b.name, "ok": b.ok, "cached": b.cached,
                   "error": "\n".join(summary.compiler_lines(b.error or "")) if b.error else None}
                  for b in self.recorder.builds]
        self.custom = {"used": used, "kind": kind, "builds": builds,
                       "kernelsLaunched": launched[:20],
                       "callsReference": self.reference_calls > 0}
        if failed:
            lines = summary.compiler_lines(failed[0].error or "")
            self._check("extension_build", self.severity, f"the build of extension "
                        f"'{failed[0].name}' failed and the candidate fell back to PyTorch; what "
                        "was measured is not a custom kernel. Compiler: " + " | ".join(lines[:6]))
        else:
            self._check("extension_build", "PASSED", f"{len(builds)} extension build(s), all ok")
        declared = declared_cuda + declared_triton
        if self.device.type != "cuda":
            # C++ extensions have no __global__ kernels: what they define is their built functions.
            declared = declared + [b.name for b in self.recorder.builds if b.ok]
        if declared and not used and not failed:
            self._check("decoy_kernel", self.severity, "kernel(s) " + ", ".join(declared[:5])
                        + " are defined but never launched: forward computes with PyTorch ops")
        else:
            self._check("decoy_kernel", "PASSED", "every defined kernel family was launched"
                        if declared else "no custom kernel defined")
        if used:
            self._check("custom_kernel", "PASSED", f"custom kernel launched ({kind})")
        elif not failed and not declared:
            self._check("custom_kernel", self.severity, "no custom kernel: the candidate is plain "
                        "PyTorch (a legitimate KernelBench answer, but not a kernel)")
        else:
            self._check("custom_kernel", self.severity, "no custom kernel was launched")
        if self.reference_calls:
            self._check("calls_reference", self.severity, "forward calls the problem's reference "
                        "Model: the speedup is the reference's own")
        else:
            self._check("calls_reference", "PASSED", "the reference Model is never called")
        self._check("background_work", "PASSED", "no threads or processes outlive a call")
        self._check("timer_integrity", "PASSED", "timers, comparisons and harness untouched")
        self._check("plain_tensor_output", "PASSED", "outputs are plain torch.Tensor")

    def _profile_kernels(self) -> List[str]:
        try:
            from torch.profiler import ProfilerActivity, profile
        except ImportError:
            return []
        inputs = _clone(self.first_trial["inputs"])
        try:
            with profile(activities=[ProfilerActivity.CUDA]) as prof:
                self._forward(inputs)
                self._sync()
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

    def _persisting_l2(self) -> None:
        if self.device.type != "cuda":
            self._check("persisting_l2", "SKIPPED", "no L2 residency controls on cpu")
            return
        limit = _persisting_l2_limit()
        if limit is None or self.l2_baseline is None:
            self._check("persisting_l2", "SKIPPED", "cudaDeviceGetLimit unavailable")
        elif limit != self.l2_baseline:
            self._reject("persisting_l2", f"the candidate changed the persisting-L2 reservation from "
                         f"{self.l2_baseline} to {limit} bytes: timings with a flushed L2 would not be "
                         "comparable")
        else:
            self._check("persisting_l2", "PASSED", f"persisting-L2 reservation unchanged ({limit} bytes, "
                        "the device's own setting)")

    def _hidden_stream_work(self, ref: timing.Stats, cand: timing.Stats) -> None:
        if ref.sync_median_ms is None or cand.sync_median_ms is None:
            return
        cand_gap = cand.sync_median_ms - cand.median_ms
        ref_gap = ref.sync_median_ms - ref.median_ms
        if cand.median_ms < 0.5 * cand.sync_median_ms and cand_gap > max(3 * ref_gap, 0.02):
            self._reject("stream_sync", f"{cand_gap:.3f} ms of the candidate's "
                         f"{cand.sync_median_ms:.3f} ms (device-synchronised) ran outside the current "
                         "stream without it waiting: the output is not ordered before its consumer")

    def _suspicious(self, speedup: Optional[float], timer: timing.Timer) -> None:
        if speedup is None or speedup <= SUSPICIOUS_SPEEDUP:
            self._check("suspicious_speedup", "PASSED", f"speedup {speedup or 0:.2f}x is below "
                        f"{SUSPICIOUS_SPEEDUP:g}x: no re-timing needed")
            return
        ref_times, cand_times, ref_wall, cand_wall = [], [], [], []
        for k in range(5):
            inputs = self._inputs(self.req.seed + 1000 + k)
            started = timing.wall_clock()
            full, _, _ = timer.time_call(lambda: self._reference_forward(inputs))
            ref_wall.append((timing.wall_clock() - started) * 1000)
            ref_times.append(full)
            started = timing.wall_clock()
            full, _, _ = self._run_candidate(
                lambda: timer.time_call(lambda: _no_grad_call(self.candidate, inputs)), "timing")
            cand_wall.append((timing.wall_clock() - started) * 1000)
            cand_times.append(full)
        fresh_speedup = sorted(ref_times)[2] / max(sorted(cand_times)[2], 1e-9)
        wall_speedup = sorted(ref_wall)[2] / max(sorted(cand_wall)[2], 1e-9)
        detail = (f"{speedup:.1f}x on repeated inputs; with fresh inputs each call {fresh_speedup:.1f}x "
                  f"(events), {wall_speedup:.1f}x (wall clock)")
        if fresh_speedup < speedup / 3:
            self._reject("suspicious_speedup", detail + ": the speed comes from reusing results "
                         "across calls, not from computing them")
        self._check("suspicious_speedup", "PASSED", detail)

    def _reference_reuses(self, inputs: Sequence[Any]) -> bool:
        with torch.no_grad():
            a = compare.flatten(self.reference(*inputs))
            b = compare.flatten(self.reference(*inputs))
        return _any_overlap(a, b)

    # ---------------------------------------------------------------- problem code
    def _problem(self, action: Callable[[], Any], what: str) -> Any:
        """Runs the problem's own code; its failure is the problem's, said once per problem by the batch,
        never charged to the candidate as its error."""
        try:
            return action()
        except Decided:
            raise
        except BaseException as error:  # the problem file's code
            text = summary.exception_text(error, self.req.problem_path)
            self._enter("problem")
            raise Decided("RUNTIME_ERROR", f"Problem error, not the candidate's: the problem file fails in "
                                           f"{what}: {text}")

    # ---------------------------------------------------------------- candidate code
    def _forward(self, inputs: Sequence[Any]) -> List[Any]:
        out = self._run_candidate(lambda: _no_grad_call(self.candidate, inputs), "forward")
        outs = compare.flatten(out)
        for o in outs:
            if isinstance(o, torch.Tensor) and type(o) is not torch.Tensor:
                self._reject("plain_tensor_output", f"forward returned a {type(o).__name__} "
                             "(a torch.Tensor subclass); only plain materialised tensors are "
                             "accepted, since a subclass can defer its work past the timed region")
            if isinstance(o, torch.Tensor) and o.device.type != self.device.type:
                raise Decided("INCORRECT" if self.stage == "correctness" else "RUNTIME_ERROR",
                              f"forward returned a tensor on {o.device}, expected "
                              f"{self.device.type}")
        return outs

    def _reference_forward(self, inputs: Sequence[Any]) -> Any:
        with torch.no_grad():
            return self.reference(*inputs)

    def _run_candidate(self, action: Callable[[], Any], phase: str) -> Any:
        self.in_candidate = True
        try:
            result = action()
        except Decided:
            raise
        except BaseException as error:  # candidate code: every failure is a verdict
            self._after_candidate(phase)
            raise self._classify(error, phase)
        finally:
            self.in_candidate = False
        self._after_candidate(phase)
        return result

    def _after_candidate(self, phase: str) -> None:
        if self.kernelbench_only:
            return
        changed = self.integrity.violations() if hasattr(self, "integrity") else []
        if changed:
            self.integrity.restore()
            self._reject("timer_integrity", f"during {phase} the candidate replaced "
                         + ", ".join(changed[:6]) + ": timers and checks must not be patched")
        flags = _precision_flags()
        if flags != self.flags:
            lowered = _downgrades(flags)
            if lowered:
                # Rejected when the stage ends; until then the candidate keeps its flags (as it would under
                # KernelBench) and the reference keeps PyTorch's defaults.
                self._defer("precision", f"during {phase} the candidate lowered fp32 precision below "
                            f"PyTorch's defaults {lowered}: a precision downgrade, not a faster kernel")
            # Other flags (cudnn.benchmark, stricter settings) are the candidate's own business; the reference
            # keeps running with the defaults.
            self.flags = flags
            self.candidate_flags = {k: str(v) for k, v in flags.items() if DEFAULT_FLAGS.get(k) != v}
        if isolation.forks:
            self._reject("background_work", f"during {phase} the candidate forked "
                         f"{len(isolation.forks)} process(es)")
        children = isolation.live_children()
        if children:
            isolation.kill_all(children)
            self._reject("background_work", f"during {phase} the candidate started process(es) "
                         "that outlived the call")
        detached = isolation.strays()
        if detached:
            names = ", ".join(isolation.describe(pid) for pid in detached[:3])
            isolation.kill_all(detached)
            self._reject("background_work", f"during {phase} the candidate left {len(detached)} detached "
                         f"process(es) running ({names}): work outside the timed call")
        threads = [t for t in threading.enumerate() if t not in self.thread_baseline
                   and t.is_alive() and not _library_thread(t)]
        if threads:
            self._reject("background_work", f"{len(threads)} thread(s) started by the candidate "
                         f"were still running after {phase} returned ({threads[0].name}): work "
                         "outside the timed call")

    def _classify(self, error: BaseException, phase: str) -> Decided:
        chain, seen = error, set()
        while chain is not None and id(chain) not in seen:
            seen.add(id(chain))
            if isinstance(chain, ExtensionBuildFailed):
                lines = summary.compiler_lines(str(chain))
                self._write_log("compile.log", str(chain))
                return Decided("COMPILE_ERROR", "Compilation failed:\n" + "\n".join(lines))
            chain = chain.__cause__ or chain.__context__
        if isinstance(error, SyntaxError) and phase == "import":
            return Decided("COMPILE_ERROR", f"Python syntax error: {error}")
        if isinstance(error, (SystemExit, KeyboardInterrupt)):
            return Decided("RUNTIME_ERROR", f"The candidate tried to end the process "
                                            f"({type(error).__name__}) during {phase}.")
        text = summary.exception_text(error, self.req.candidate_path)
        self._write_log("error.log", "".join(traceback.format_exception(
            type(error), error, error.__traceback__)))
        if isinstance(error, MemoryError) or "out of memory" in str(error).lower():
            return Decided("RUNTIME_ERROR", f"Out of memory during {phase}: {text}")
        if any(marker in str(error) for marker in _CUDA_FAILURE):
            self.device_poisoned = True
            return Decided("RUNTIME_ERROR", f"CUDA error during {phase} (the CUDA context is "
                                            f"lost; check bounds and launch sizes): {text}")
        return Decided("RUNTIME_ERROR", f"Error during {phase}: {text}")

    def _count_reference_calls(self, model_class: type) -> None:
        original = model_class.forward
        evaluation = self

        def forward(model_self: Any, *args: Any, **kwargs: Any) -> Any:
            if evaluation.in_candidate:
                evaluation.reference_calls += 1
            return original(model_self, *args, **kwargs)

        model_class.forward = forward

    # ---------------------------------------------------------------- helpers
    def _inputs(self, seed: int) -> List[Any]:
        """get_inputs() under `seed`, made on the device itself where torch allows (2.0+): drawing a 6.4 GB
        tensor on the CPU and copying it takes seconds, on the GPU milliseconds. Both sides always get the
        same inputs; they are not the CPU generator's values."""
        torch.manual_seed(seed)
        if self.device.type == "cuda" and hasattr(torch.device("cpu"), "__enter__"):
            with self.device:
                return self._problem(lambda: self._to_device(self.get_inputs()), "get_inputs()")
        return self._problem(lambda: self._to_device(self.get_inputs()), "get_inputs()")

    def _to_device(self, values: Sequence[Any]) -> List[Any]:
        return [v.to(self.device) if isinstance(v, torch.Tensor) else v for v in values]

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()

    def _timer(self) -> timing.Timer:
        if self.device.type == "cuda":
            return timing.CudaTimer(self.device, self.req.flush_l2)
        return timing.WallTimer()

    def _write_log(self, name: str, text: str) -> None:
        try:
            with open(os.path.join(self.req.scratch_dir, name), "a") as f:
                f.write(text + "\n")
            if name not in self.logs:
                self.logs.append(name)
        except OSError:
            pass

    def _verdict(self, status: str, error: Optional[str]) -> Dict[str, Any]:
        checks = []
        for name in CHECKS:
            outcome, detail = self.checks.get(name, ("SKIPPED", f"not reached: the verdict was "
                                                                f"decided at stage {self.stage}"))
            checks.append({"name": name, "outcome": outcome, "detail": detail})
        if self.device.type != "cuda" and "persisting_l2" not in self.checks:
            checks[CHECKS.index("persisting_l2")]["detail"] = "not applicable on cpu"
        if self.custom is None and self.recorder.builds:
            self.custom = {"used": False, "kind": "none", "kernelsLaunched": [],
                           "callsReference": self.reference_calls > 0,
                           "builds": [{"name": b.name, "ok": b.ok, "cached": b.cached,
                                       "error": "\n".join(summary.compiler_lines(b.error or ""))
                                       if b.error else None} for b in self.recorder.builds]}
        verdict = {
            "candidateId": self.req.id, "problemId": self.req.extra.get("problemId"),
            "status": status,
            # A build failure replayed from the cache surfaces while loading; it is still the compile's verdict.
            "stage": "compile" if status == "COMPILE_ERROR" else self.stage, "stageMillis": self.stage_ms,
            "correctness": self.correctness,
            "timing": self.timing if status in ("CORRECT", "REJECTED") else None,
            "checks": checks, "customKernel": self.custom, "environment": self.environment,
            "device": None, "logs": self.logs, "error": error,
            "devicePoisoned": self.device_poisoned,
        }
        verdict["kernelbench"] = self._kernelbench_verdict(status)
        verdict["summary"] = summary.for_verdict(verdict)
        return verdict

    def _kernelbench_verdict(self, status: str) -> Dict[str, Any]:
        kb = dict(self.kernelbench)
        if status == "COMPILE_ERROR":
            kb["compiled"] = False
        kb["correct"] = bool(kb.get("correct")) and status not in ("COMPILE_ERROR", "RUNTIME_ERROR",
                                                                    "TIMEOUT")
        # KernelBench reports mean runtimes and divides them; the strict speedup uses medians.
        kb["speedup"] = (self.timing["reference"]["meanMs"] / self.timing["candidate"]["meanMs"]
                         if self.timing and kb["correct"] and self.timing["candidate"]["meanMs"] > 0 else None)
        differences: List[str] = []
        if kb["correct"] and status != "CORRECT":
            differences = [f"{name}: {detail}" for name, (outcome, detail) in self.checks.items()
                           if outcome == "FAILED"] or [f"the strict status is {status}"]
        elif not kb["correct"] and status == "CORRECT":
            differences = [f"KernelBench {kb['rules']} tolerances (atol={kb.get('atol')}, "
                           f"rtol={kb.get('rtol')}) fail {kb.get('trials', 0) - kb.get('trialsPassed', 0)} "
                           f"trial(s) that atol={self.req.atol}, rtol={self.req.rtol} pass"]
        kb["differences"] = differences
        return kb


def compile_candidate(request: Request, on_stage: Callable[[str], None]) -> Dict[str, Any]:
    """Builds every extension the candidate asks for, with no GPU visible (compile processes).

    Returns a COMPILE_ERROR verdict only when the candidate cannot run at all (syntax error, or a
    failed build it does not catch); everything else is settled by evaluation."""
    on_stage("compile")
    started = timing.wall_clock()
    recorder = ExtensionRecorder("build", request.build_dir, timing.wall_clock, request.ext_dir,
                                 lambda active: on_stage("build" if active else "compile"))
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
              for name in CHECKS]
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


def _kernelbench_tolerance(rules: str, reference: Sequence[Any], req: Request) -> Tuple[float, float]:
    """KernelBench's tolerances: v0.1 compares every output at 1e-2; main by precision (fp32 1e-4, half
    precisions 1e-2), taking the widest where outputs differ."""
    if rules != "main":
        return 1e-2, 1e-2
    widest = 1e-4
    for t in reference:
        if isinstance(t, torch.Tensor) and t.dtype in (torch.float16, torch.bfloat16):
            widest = 1e-2
    return widest, widest


def _precision_flags() -> Dict[str, Any]:
    flags: Dict[str, Any] = {"matmul.allow_tf32": torch.backends.cuda.matmul.allow_tf32,
                             "cudnn.allow_tf32": torch.backends.cudnn.allow_tf32,
                             "cudnn.benchmark": torch.backends.cudnn.benchmark,
                             "cudnn.deterministic": torch.backends.cudnn.deterministic,
                             "default_dtype": torch.get_default_dtype()}
    if hasattr(torch, "get_float32_matmul_precision"):
        flags["float32_matmul_precision"] = torch.get_float32_matmul_precision()
    return flags


def _set_flags(flags: Dict[str, Any]) -> None:
    torch.backends.cuda.matmul.allow_tf32 = flags["matmul.allow_tf32"]
    torch.backends.cudnn.allow_tf32 = flags["cudnn.allow_tf32"]
    torch.backends.cudnn.benchmark = flags["cudnn.benchmark"]
    torch.backends.cudnn.deterministic = flags["cudnn.deterministic"]
    torch.set_default_dtype(flags["default_dtype"])
    if "float32_matmul_precision" in flags:
        torch.set_float32_matmul_precision(flags["float32_matmul_precision"])


# PyTorch's own defaults, read before any candidate code runs: the reference always runs with them, as a user of
# eager PyTorch (and KernelBench) gets it. A weakened baseline (cuDNN TF32 off makes convolutions 2-8x slower on
# an H100) would inflate every speedup.
DEFAULT_FLAGS = _precision_flags()
_MATMUL_PRECISION_RANK = {"highest": 0, "high": 1, "medium": 2}


def _downgrades(flags: Dict[str, Any]) -> Dict[str, Any]:
    """The flags a candidate set that lower fp32 precision below PyTorch's defaults (TF32 for matmuls, a lower
    matmul precision, a narrower default dtype); setting a flag to its default, or to something stricter, is not
    one."""
    found: Dict[str, Any] = {}
    if flags["matmul.allow_tf32"] and not DEFAULT_FLAGS["matmul.allow_tf32"]:
        found["matmul.allow_tf32"] = True
    if flags["cudnn.allow_tf32"] and not DEFAULT_FLAGS["cudnn.allow_tf32"]:
        found["cudnn.allow_tf32"] = True
    precision = flags.get("float32_matmul_precision")
    if precision is not None and _MATMUL_PRECISION_RANK.get(precision, 0) > _MATMUL_PRECISION_RANK.get(
            DEFAULT_FLAGS.get("float32_matmul_precision", "highest"), 0):
        found["float32_matmul_precision"] = precision
    if flags["default_dtype"] != DEFAULT_FLAGS["default_dtype"]:
        found["default_dtype"] = str(flags["default_dtype"])
    return found


class _PyTorchDefaults(torch.nn.Module):
    """The reference Model, always called under PyTorch's default flags whatever the candidate set; the
    candidate's own flags are put back afterwards."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, *args: Any) -> Any:
        mine = _precision_flags()
        if mine == DEFAULT_FLAGS:
            return self.model(*args)
        _set_flags(DEFAULT_FLAGS)
        try:
            return self.model(*args)
        finally:
            _set_flags(mine)


def _persisting_l2_limit() -> Optional[int]:
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


def _clone(values: Sequence[Any]) -> List[Any]:
    return [v.clone() if isinstance(v, torch.Tensor) else copy.copy(v) for v in values]


def _any_overlap(outputs: Sequence[Any], inputs: Sequence[Any]) -> bool:
    return any(compare.overlaps(o, i) for o in outputs if isinstance(o, torch.Tensor)
               for i in inputs if isinstance(i, torch.Tensor) and i.numel() and o.numel())


def _poison_free_memory(like: Sequence[Any]) -> None:
    """Fills blocks the size of the expected outputs with NaN and frees them: the caching allocator hands
    such blocks to the candidate's next allocations of that size, so an output element the candidate never
    writes (or has not written yet when forward returns) reads NaN instead of a plausible stale value."""
    for t in like:
        if isinstance(t, torch.Tensor) and t.is_floating_point() and t.device.type == "cuda":
            torch.full_like(t, float("nan"))


def _small_view(outputs: Sequence[Any]) -> List[Any]:
    """Keeps what the degeneracy check needs of a trial's reference output without the whole tensor when it
    is large: a strided sample of up to 4M elements has the same zero/constant/independence answers."""
    kept: List[Any] = []
    for o in outputs:
        if isinstance(o, torch.Tensor) and o.numel() > (1 << 22):
            kept.append(o.detach().reshape(-1)[:: o.numel() // (1 << 22)].clone())
        else:
            kept.append(o)
    return kept


def _no_grad_call(model: Any, inputs: Sequence[Any]) -> Any:
    with torch.no_grad():
        return model(*inputs)


def _library_thread(thread: threading.Thread) -> bool:
    target = getattr(thread, "_target", None)
    code = getattr(target, "__code__", None)
    filename = getattr(code, "co_filename", "") or ""
    return ("/torch/" in filename or "/triton/" in filename) and "kfarm_candidate" not in filename

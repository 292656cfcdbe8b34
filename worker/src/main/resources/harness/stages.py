"""An evaluation's stages, in order: static → load → correctness → anti-cheat → timing (names.json).

Each stage may end the evaluation with a status (a `Decided`); everything the candidate does runs
through `run_candidate`, which turns its exceptions into statuses and, after every piece of
candidate code, has `checks.after_candidate` see that it left the timer, the flags, the threads
and the processes alone. The checks themselves live in checks.py; the compile stage, which runs
in a process of its own, in build.py.
"""
from __future__ import annotations

import ast
import os
import threading
import traceback
import uuid
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

from . import checks, compare, flags, names, summary, timing, trials
from .checks import Decided
from .integrity import Integrity
from .loader import ExtensionBuildFailed, ExtensionRecorder, TritonLaunches, import_file
from .protocol import Request

_CUDA_FAILURE = ("CUDA error", "illegal memory access", "device-side assert", "CUBLAS_STATUS",
                 "cudaError", "unspecified launch failure", "misaligned address",
                 "an illegal instruction")



class Evaluation:
    """One candidate's evaluation, run in the runner process. `judge`, when given (a channel.RunnerChannel), is told
    every correctness trial's outputs and every timed run, so the judge process can decide correctness on its own
    and bound the timings; the verdict this returns is only the runner's claim."""

    def __init__(self, request: Request, on_stage: Callable[[str], None],
                 environment: Dict[str, Any], judge: Optional[Any] = None):
        self.req = request
        self.judge = judge
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

    def defer(self, name: str, detail: str) -> None:
        """A rejection that waits until the stage ends, so KernelBench's answer (which knows no anti-cheat
        checks) can still be computed from the remaining trials."""
        if name not in self.deferred:
            self.deferred[name] = detail

    def _raise_deferred(self) -> None:
        if self.deferred:
            for name, detail in self.deferred.items():
                self.check(name, "FAILED", detail)
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
        self.stage = names.stage(stage)
        self.stage_started = timing.wall_clock()
        self.on_stage(stage)

    def _close_stage(self) -> None:
        self.stage_ms[self.stage] = round((timing.wall_clock() - self.stage_started) * 1000, 3)

    def check(self, name: str, outcome: str, detail: str) -> None:
        self.checks[names.check(name)] = (outcome, detail)

    def reject(self, name: str, detail: str) -> None:
        self.check(name, "FAILED", detail)
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
        checks.count_reference_calls(self, self.Model)
        self.integrity = Integrity()
        self.integrity.watch(problem, ["Model", "get_inputs", "get_init_inputs"])
        self.integrity.watch(self.Model, ["forward", "__call__"])
        self.l2_baseline = checks.persisting_l2_limit() if self.device.type == "cuda" else None
        self.recorder.install()
        if self.backend == "triton":
            self.triton.install()
        flags.apply(flags.DEFAULTS)
        self.flags = dict(flags.DEFAULTS)
        self.thread_baseline = set(threading.enumerate())
        os.chdir(self.req.scratch_dir)
        module = self.run_candidate(
            lambda: import_file(self.req.candidate_path, "kfarm_candidate_" + self.uid), "import")
        self.candidate_module = module
        self.kernelbench["compiled"] = True
        copied = getattr(module, "Model", None)
        if isinstance(copied, type) and copied is not self.Model:
            # A copy of the reference inside the candidate counts as calling the reference.
            checks.count_reference_calls(self, copied)
        model_new = getattr(module, "ModelNew", None)
        if model_new is None:
            raise Decided("COMPILE_ERROR", "The candidate defines no class ModelNew.")
        with torch.no_grad():
            torch.manual_seed(self.req.seed)
            init = self._problem(lambda: self._to_device(self.get_init_inputs()), "get_init_inputs()")
            torch.manual_seed(self.req.seed)
            self.reference = flags.PyTorchDefaults(self._problem(lambda: self.Model(*init).to(self.device),
                                                            "constructing Model"))
            torch.manual_seed(self.req.seed)
            self.candidate = self.run_candidate(
                lambda: model_new(*init).to(self.device), "construct")
        self.init_inputs = init

    def _correctness(self) -> None:
        self._enter("correctness")
        req = self.req
        seeds = trials.trial_seeds(req.seed, req.correctness_trials)
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
            inputs = self.inputs(trial_seed)
            pristine = compare.fingerprint(inputs)
            cand_in = compare.clone(inputs)
            started = timing.wall_clock()
            with torch.no_grad():
                ref_out = compare.flatten(self._problem(lambda: self.reference(*inputs), "Model.forward"))
            self.sync()
            if t == 0:
                self.reference_ms = (timing.wall_clock() - started) * 1000
            ref_mutates |= not compare.same_fingerprint(compare.fingerprint(inputs), pristine)
            ref_aliases |= compare.any_overlap(ref_out, inputs)
            compare.poison_free_memory(ref_out)
            torch.manual_seed(trial_seed)
            outs = self.forward(cand_in)
            # Released only now, so the candidate's output could not land in memory that held the inputs
            # (for ReLU of non-negative inputs that memory already holds the right answer).
            del inputs
            # Read right away, on the current stream, before any synchronisation: what a consumer sees.
            at_return = compare.fingerprint(outs)
            self.sync()
            if not compare.same_fingerprint(at_return, compare.fingerprint(outs)):
                self.defer("stream_sync", f"trial {t}: the output was still being written after "
                           "forward returned (work on another stream or thread that the current "
                           "stream does not wait for); a consumer would read garbage")
            if not ref_mutates and not compare.same_fingerprint(compare.fingerprint(cand_in), pristine):
                self.defer("input_mutation", f"trial {t}: the candidate modified its input "
                           "tensors in place; the reference leaves them untouched")
            if not ref_aliases and compare.any_overlap(outs, cand_in):
                self.defer("output_aliasing", f"trial {t}: the output shares memory with an "
                           "input tensor; the reference returns fresh memory")
            if previous is not None and not compare.same_fingerprint(
                    compare.fingerprint(previous["outs"]), previous["print"]):
                self.defer("result_reuse", f"trial {t}: calling forward again changed the output "
                           f"returned in trial {t - 1}: the candidate reuses one output buffer "
                           "across calls")
            if self.judge is not None:
                # The judge redoes this trial from its own copy of the problem and compares on its own: what
                # this process concludes below is only its claim.
                self.judge.trial(t, trial_seed, outs)
            result = compare.compare(ref_out, outs, req.atol, req.rtol)
            kb_atol, kb_rtol = trials.kernelbench_tolerance(req.kernelbench_rules, ref_out)
            self.kernelbench.update({"atol": kb_atol, "rtol": kb_rtol})
            if (result.ok if (kb_atol, kb_rtol) == (req.atol, req.rtol)
                    else compare.compare(ref_out, outs, kb_atol, kb_rtol).ok):
                kb_passed += 1
            if not result.ok:
                # Sampled alike, so samples of every earlier trial's reference stand in for the whole.
                seen, mine = compare.small_view(outs), compare.small_view(ref_out)
                for j, earlier in enumerate(self.reference_outputs):
                    if compare.compare(earlier, seen, req.atol, req.rtol).ok \
                            and not compare.compare(earlier, mine, req.atol, req.rtol).ok:
                        self.defer("result_reuse", f"trial {t} returned the result of trial {j}: "
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
            self.reference_outputs.append(compare.small_view(ref_out))
            previous = trial
        # The anti-cheat stage works on the last trial, the one still alive.
        self.first_trial = previous
        self.kernelbench.update({"trialsPassed": kb_passed, "correct": kb_passed == len(seeds)})
        if "input_mutation" not in self.deferred:
            self.check("input_mutation", "PASSED", "inputs unchanged after every call"
                       + (" (the reference itself mutates them)" if ref_mutates else ""))
        if "output_aliasing" not in self.deferred:
            self.check("output_aliasing", "PASSED", "outputs never share memory with inputs"
                       if not ref_aliases else "the reference's output aliases its input too")
        if "stream_sync" not in self.deferred:
            self.check("stream_sync", "PASSED", "outputs complete when forward returns")
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
        again = self.forward(compare.clone(first["inputs"]))
        held = self.forward(first["inputs"])
        twice = self.forward(first["inputs"])
        self.sync()
        if compare.any_overlap(held, twice) and not checks.reference_reuses(self, first["inputs"]):
            self.reject("result_reuse", "two calls returned the same output buffer: results are "
                        "cached or an output buffer is reused across calls")
        self.check("result_reuse", "PASSED", "fresh output per call; fresh input addresses in "
                   "every trial gave fresh results")
        deterministic = [compare.compare(first["outs"], o, req.atol, req.rtol) for o in (again, twice)]
        if not all(c.ok for c in deterministic):
            bad = next(c for c in deterministic if not c.ok)
            where = bad.mismatch.as_dict(0) if bad.mismatch else {}
            self.reject("determinism", "re-running on identical inputs gave a different answer "
                        f"(index {where.get('index')}: {where.get('expected')} then "
                        f"{where.get('actual')}): a race or uninitialised memory")
        bitwise = compare.identical(first["outs"], again) and compare.identical(first["outs"], twice)
        self.check("determinism", "PASSED", "identical inputs, identical answers" + (
            " (bit for bit)" if bitwise else " (within tolerance, not bit for bit)"))
        del again, held, twice
        checks.degeneracy(self)
        checks.precision(self)
        checks.custom_kernel(self)
        checks.persisting_l2(self)

    def _timing(self) -> None:
        self._enter("timing")
        req = self.req
        self.first_trial = None
        self.reference_outputs = []
        inputs = self.inputs(req.seed)
        timer = self._timer()
        # The candidate is timed bare; the checks that follow candidate code run once afterwards,
        # so they cost the candidate nothing inside the timed region.
        # The bare reference, with PyTorch's defaults set before its timed calls (not inside them, where
        # setting flags would add host time to small kernels), and the candidate's flags before its own.
        bare = self.reference.model
        calls = {"reference": lambda: checks.no_grad_call(bare, inputs),
                 "candidate": lambda: checks.no_grad_call(self.candidate, inputs)}
        candidate_flags = dict(self.flags)
        prepare = None if candidate_flags == flags.DEFAULTS else {
            "reference": lambda: flags.apply(flags.DEFAULTS),
            "candidate": lambda: flags.apply(candidate_flags)}
        cached = req.reference_timing
        counts = {"candidate": req.timing_trials, "reference": req.timing_trials}
        if cached:
            counts["reference"] = min(req.drift_trials, req.timing_trials)
        stats = self.run_candidate(
            lambda: self._timed(lambda on_timed: timing.interleaved(
                timer, calls, counts, req.warmup_runs, prepare, on_timed)), "timing")
        source = "measured"
        if cached:
            previous = timing.Stats.from_dict(cached)
            drift = stats["reference"].median_ms / previous.median_ms - 1.0
            if abs(drift) <= req.drift_tolerance:
                stats["reference"] = previous
                source = f"cached ({drift * 100:+.1f}% drift on {counts['reference']} trials)"
            else:
                full = self._timed(lambda on_timed: timing.interleaved(
                    timer, {"reference": calls["reference"]}, {"reference": req.timing_trials}, 0, prepare,
                    on_timed))
                stats["reference"] = full["reference"]
                source = f"measured (cache drifted {drift * 100:+.1f}%)"
        ref, cand = stats["reference"], stats["candidate"]
        speedup = ref.median_ms / cand.median_ms if cand.median_ms > 0 else None
        self.timing = {"method": timer.method, "reference": ref.as_dict(),
                       "candidate": cand.as_dict(), "speedup": speedup, "referenceSource": source}
        checks.hidden_stream_work(self, ref, cand)
        checks.suspicious(self, speedup, timer)

    def _timed(self, run: Callable[[Optional[Callable[[], None]]], Dict[str, timing.Stats]]
               ) -> Dict[str, timing.Stats]:
        """Runs one timed run, telling the judge when its timed calls start and what they measured: the judge
        holds the claimed times against the wall clock it saw pass meanwhile."""
        if self.judge is None:
            return run(None)
        stats = run(self.judge.timed_begin)
        self.judge.timed({name: s.as_dict() for name, s in stats.items()})
        return stats

    # ---------------------------------------------------------------- anti-cheat parts









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
    def forward(self, inputs: Sequence[Any]) -> List[Any]:
        out = self.run_candidate(lambda: checks.no_grad_call(self.candidate, inputs), "forward")
        outs = compare.flatten(out)
        for o in outs:
            if isinstance(o, torch.Tensor) and type(o) is not torch.Tensor:
                self.reject("plain_tensor_output", f"forward returned a {type(o).__name__} "
                            "(a torch.Tensor subclass); only plain materialised tensors are "
                            "accepted, since a subclass can defer its work past the timed region")
            if isinstance(o, torch.Tensor) and o.device.type != self.device.type:
                raise Decided("INCORRECT" if self.stage == "correctness" else "RUNTIME_ERROR",
                              f"forward returned a tensor on {o.device}, expected "
                              f"{self.device.type}")
        return outs

    def reference_forward(self, inputs: Sequence[Any]) -> Any:
        with torch.no_grad():
            return self.reference(*inputs)

    def run_candidate(self, action: Callable[[], Any], phase: str) -> Any:
        self.in_candidate = True
        try:
            result = action()
        except Decided:
            raise
        except BaseException as error:  # candidate code: every failure is a verdict
            checks.after_candidate(self, phase)
            raise self._classify(error, phase)
        finally:
            self.in_candidate = False
        checks.after_candidate(self, phase)
        return result


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


    # ---------------------------------------------------------------- helpers
    def inputs(self, seed: int) -> List[Any]:
        """get_inputs() under `seed`, made on the device itself where torch allows (2.0+): drawing a 6.4 GB
        tensor on the CPU and copying it takes seconds, on the GPU milliseconds. Both sides always get the
        same inputs; they are not the CPU generator's values."""
        return self._problem(lambda: trials.draw_inputs(self.get_inputs, seed, self.device), "get_inputs()")

    def _to_device(self, values: Sequence[Any]) -> List[Any]:
        return trials.to_device(values, self.device)

    def sync(self) -> None:
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
        for name in names.CHECKS:
            outcome, detail = self.checks.get(name, ("SKIPPED", f"not reached: the verdict was "
                                                                f"decided at stage {self.stage}"))
            checks.append({"name": name, "outcome": outcome, "detail": detail})
        if self.device.type != "cuda" and "persisting_l2" not in self.checks:
            checks[names.CHECKS.index("persisting_l2")]["detail"] = "not applicable on cpu"
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
        failed = [(name, detail) for name, (outcome, detail) in self.checks.items() if outcome == "FAILED"]
        return kernelbench_answer(self.kernelbench, status, self.timing, failed, self.req.atol, self.req.rtol)


def kernelbench_answer(kernelbench: Dict[str, Any], status: str, timing_: Optional[Dict[str, Any]],
                       failed: List[Tuple[str, str]], atol: float, rtol: float) -> Dict[str, Any]:
    """KernelBench's answer beside the strict status (the runner's, and the judge's once it has had its say)."""
    kb = dict(kernelbench)
    if status == "COMPILE_ERROR":
        kb["compiled"] = False
    kb["correct"] = bool(kb.get("correct")) and status not in ("COMPILE_ERROR", "RUNTIME_ERROR", "TIMEOUT")
    # KernelBench reports mean runtimes and divides them; the strict speedup uses medians.
    kb["speedup"] = (timing_["reference"]["meanMs"] / timing_["candidate"]["meanMs"]
                     if timing_ and kb["correct"] and timing_["candidate"]["meanMs"] > 0 else None)
    differences: List[str] = []
    if kb["correct"] and status != "CORRECT":
        differences = [f"{name}: {detail}" for name, detail in failed] or [f"the strict status is {status}"]
    elif not kb["correct"] and status == "CORRECT":
        differences = [f"KernelBench {kb['rules']} tolerances (atol={kb.get('atol')}, "
                       f"rtol={kb.get('rtol')}) fail {kb.get('trials', 0) - kb.get('trialsPassed', 0)} "
                       f"trial(s) that atol={atol}, rtol={rtol} pass"]
    kb["differences"] = differences
    return kb

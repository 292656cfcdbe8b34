"""The judge: the parent process of an evaluation, the only one that speaks to the worker and the one that decides.

Candidate code runs in the runner, a child forked before CUDA starts, so however it rummages through its own
process (the heap, its frames, its descriptors, the harness's functions) it finds neither the request's token nor the
worker's protocol pipe, and what it patches is its own copy of the checker. The judge is undumpable (the runner, same
uid and no capabilities, can neither ptrace it nor open its /proc files), and the runner's seccomp filter keeps it
from signalling the judge.

The runner reports as it goes: its stages (relayed once checked against names.json), every correctness trial's
outputs, and every timed run. The judge loads the problem only (never the candidate), builds the reference with
PyTorch's defaults, draws the same inputs from the same seeds, and compares on its own; a runner's claim it cannot
confirm is not believed. Timings cannot be redone here (they belong where the kernel runs), so the judge holds every
timed run against the wall clock it saw pass meanwhile (`implausible_timing`).
"""
from __future__ import annotations

import math
import os
import signal
import sys
import time
import traceback
import uuid
from typing import Any, Dict, List, Optional, TextIO, Tuple

import torch

from . import compare, names, summary, trials
from .channel import ChannelError, JudgeChannel, RunnerGone, receive_outputs
from .loader import import_file
from .protocol import Request, send
from .stages import kernelbench_answer

STATUSES = ("COMPILE_ERROR", "RUNTIME_ERROR", "TIMEOUT", "INCORRECT", "REJECTED", "CORRECT")
OUTCOMES = ("PASSED", "FAILED", "FLAGGED", "SKIPPED")
# The timing bound (see implausible_timing). An honest timed call spends at most a few hundred microseconds outside
# what it measures (filling 256 MiB to flush the L2, synchronising the device, the Python around it): allowed 0.5 ms a
# call, plus a tenth of the wall time and 0.2 s for the judge's own wake-ups. Time the runner spent waiting for a
# core (a loaded host) is not counted as wall time at all (see Judge._runqueue_wait).
OVERHEAD_PER_CALL_SECONDS = 0.5e-3
SLACK_SHARE = 0.1
SLACK_SECONDS = 0.2
# One g++ run over torch/extension.h (about 20 s on a GPU host's core, 80 s on a loaded laptop), with room.
HEADERS_SECONDS = 240


def implausible_timing(wall_seconds: float, stats: Dict[str, Dict[str, Any]],
                       elapsed_seconds: Optional[float] = None) -> Optional[str]:
    """Why one timed run's claims cannot be true of the `wall_seconds` the judge saw pass between the runner's word
    that its timed calls began and its report of what they measured, or None.

    The timed calls (warm-up excluded) claim trials x mean of each contender. Two rules, both conservative:
    - wall time the claims leave unexplained beyond the honest overheads (OVERHEAD_PER_CALL_SECONDS a call, plus
      SLACK_SHARE of the wall time and SLACK_SECONDS) means the clock that measured them was slowed or rewritten;
    - claims that add up to more than the wall time (with 25% and 0.25 s of slack) were made up. Here the wall
      time is everything that passed (`elapsed_seconds`, the time the runner waited for a core included): honest
      wall-clock claims include that wait, so taking it off would call them made up on a loaded host (it did, on
      the demo's Linear problem on two busy cores).
    So a clock slowed on calls of a millisecond or more is caught (a 5 ms call claimed as 50 us over 100 trials
    leaves 0.5 s unexplained against 0.35 s allowed); on shorter calls honest overheads could explain the gap, and
    the bound says nothing. Tested both ways with real processes."""
    calls = sum(int(s["trials"]) for s in stats.values())
    claimed = sum(int(s["trials"]) * float(s["meanMs"]) for s in stats.values()) / 1000.0
    allowed = calls * OVERHEAD_PER_CALL_SECONDS + SLACK_SHARE * wall_seconds + SLACK_SECONDS
    if wall_seconds - claimed > allowed:
        return (f"its {calls} timed calls claim {claimed * 1000:.1f} ms in all, while {wall_seconds * 1000:.1f} ms "
                f"passed on the judge's clock as they ran ({(wall_seconds - claimed) * 1000:.1f} ms unexplained, "
                f"{allowed * 1000:.1f} ms allowed for overheads): the clock that timed them was tampered with")
    elapsed = wall_seconds if elapsed_seconds is None else max(wall_seconds, elapsed_seconds)
    if claimed > elapsed * 1.25 + 0.25:
        return (f"its {calls} timed calls claim {claimed * 1000:.1f} ms in all, more than the "
                f"{elapsed * 1000:.1f} ms that passed on the judge's clock: the times were made up")
    return None


def _stats_ok(s: Any) -> bool:
    if not isinstance(s, dict):
        return False
    try:
        trials_ = s["trials"]
        numbers = [float(s["medianMs"]), float(s["meanMs"])]
    except (KeyError, TypeError, ValueError):
        return False
    return (isinstance(trials_, int) and not isinstance(trials_, bool) and trials_ >= 1
            and all(math.isfinite(n) and n >= 0 for n in numbers))


def _same_stats(a: Any, b: Any) -> bool:
    return (isinstance(a, dict) and isinstance(b, dict) and a.get("trials") == b.get("trials")
            and a.get("medianMs") == b.get("medianMs") and a.get("meanMs") == b.get("meanMs"))


class Judge:
    """One request, judged: relays the runner's stages, redoes its correctness trials, and writes the verdict."""

    def __init__(self, request: Request, channel: JudgeChannel, protocol_out: TextIO,
                 environment: Dict[str, Any]):
        self.req = request
        self.channel = channel
        self.out = protocol_out
        self.environment = environment
        self.device = torch.device("cuda" if request.backend != "cpu" else "cpu")
        self.stage = "start"
        self.seeds = trials.trial_seeds(request.seed, request.correctness_trials)
        # trial -> (passes at the request's tolerance, passes at KernelBench's, the comparison)
        self.results: List[Tuple[bool, bool, compare.Comparison]] = []
        self.timed: List[Tuple[float, float, Dict[str, Dict[str, Any]]]] = []
        self.timed_since: Optional[Tuple[float, float]] = None
        self.problem_error: Optional[str] = None
        self.reference: Any = None
        if request.mode != "compile":
            self._load_problem()

    # ------------------------------------------------------------------------------------------- the problem
    def _load_problem(self) -> None:
        """Imports the problem now, before the runner has the request: the file lies in the scratch folder, which
        the candidate's code may write once it runs."""
        try:
            problem = import_file(self.req.problem_path, "kfarm_judge_problem_" + uuid.uuid4().hex[:8])
            self.Model = problem.Model
            self.get_inputs = problem.get_inputs
            self.get_init_inputs = problem.get_init_inputs
        except BaseException as error:  # the problem's own fault: the runner reports it too
            self.problem_error = f"{type(error).__name__}: {error}"

    def _reference_outputs(self, seed: int) -> List[Any]:
        if self.reference is None:
            self.reference, _ = trials.build_reference(self.Model, self.get_init_inputs, self.req.seed,
                                                       self.device)
        inputs = trials.draw_inputs(self.get_inputs, seed, self.device)
        with torch.no_grad():
            outputs = compare.flatten(self.reference(*inputs))
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        return outputs

    # ------------------------------------------------------------------------------------------- the loop
    def run(self) -> None:
        """Hands the runner the request (without its token) and follows it to its result. Returns only with a
        verdict written; a runner that died without one is mirrored by `mirror_exit`."""
        forwarded = {k: v for k, v in vars(self.req).items() if k != "token"}
        self.channel.send({"t": "request", "request": forwarded})
        while True:
            try:
                header, payload = self.channel.next_frame()
                kind = header["t"]
                if kind != "trial" and payload:
                    raise ChannelError(f"a payload on a {kind[:40]} message")
                if kind == "stage":
                    self._on_stage(header)
                elif kind == "trial":
                    self._on_trial(header, payload)
                    self.channel.send({"t": "compared"})
                elif kind == "timed-begin":
                    self.timed_since = (time.perf_counter(), self._runqueue_wait())
                elif kind == "timed":
                    self._on_timed(header)
                elif kind == "result":
                    self._answer(self._final(header))
                    return
                elif kind == "error":
                    self._harness_error(str(header.get("error"))[-4000:])
                    return
                else:
                    raise ChannelError(f"a message of type {kind[:40]}")
            except RunnerGone as gone:
                mirror_exit(gone.status, self.out)
            except ChannelError as error:
                self._answer(self.forged(f"wrote {error} on the judge's channel"))
                return

    def _on_stage(self, header: Dict[str, Any]) -> None:
        stage = header.get("stage")
        if stage not in names.STAGES:
            raise ChannelError(f"a stage line naming no stage of the harness ({str(stage)[:40]})")
        self.stage = stage
        send(self.out, {"event": "stage", "id": self.req.id, "stage": stage})

    def _on_trial(self, header: Dict[str, Any], payload: int) -> None:
        t, seed = header.get("trial"), header.get("seed")
        if t != len(self.results) or t >= len(self.seeds) or seed != self.seeds[t]:
            raise ChannelError(f"trial {str(t)[:20]} with seed {str(seed)[:20]}, where the judge expected trial "
                               f"{len(self.results)} with seed {self.seeds[min(len(self.results), len(self.seeds) - 1)]}")
        if self.problem_error is None:
            try:
                reference = self._reference_outputs(seed)
            except BaseException as error:  # the problem's code, in the judge
                self.problem_error = f"{type(error).__name__}: {error}"
        if self.problem_error is not None:
            self.channel.skip(payload)
            failed = compare.Comparison(False, None, None, compare.Mismatch(
                "structure", None, "the reference", "the judge could not run the problem: " + self.problem_error))
            self.results.append((False, False, failed))
            return
        outputs = receive_outputs(self.channel, header.get("outputs"), payload, self.device, reference)
        try:
            result = compare.compare(reference, outputs, self.req.atol, self.req.rtol)
            kb_atol, kb_rtol = trials.kernelbench_tolerance(self.req.kernelbench_rules, reference)
            kb_ok = result.ok if (kb_atol, kb_rtol) == (self.req.atol, self.req.rtol) else compare.compare(
                reference, outputs, kb_atol, kb_rtol).ok
        except Exception as error:  # outputs compare() cannot take (a dtype it has no arithmetic for)
            result = compare.Comparison(False, None, None, compare.Mismatch(
                "type", None, "comparable outputs", f"{type(error).__name__}: {str(error)[:200]}"))
            kb_ok = False
        self.results.append((result.ok, kb_ok, result))

    def _on_timed(self, header: Dict[str, Any]) -> None:
        stats = header.get("stats")
        if self.timed_since is None or not isinstance(stats, dict) or not stats or not all(
                isinstance(k, str) and _stats_ok(s) for k, s in stats.items()):
            raise ChannelError("a timing report the judge cannot read")
        started, waited = self.timed_since
        elapsed = time.perf_counter() - started
        self.timed.append((elapsed - (self._runqueue_wait() - waited), elapsed, stats))
        self.timed_since = None

    def _runqueue_wait(self) -> float:
        """Seconds the runner's main thread (the one that times) has spent runnable but waiting for a core: on a
        loaded host that is wall time no honest claim covers, so it is taken off what the judge saw pass."""
        try:
            with open(f"/proc/{self.channel.runner_pid}/schedstat") as f:
                return int(f.read().split()[1]) / 1e9
        except (OSError, ValueError, IndexError):
            return 0.0

    # ------------------------------------------------------------------------------------------- the verdict
    def _final(self, header: Dict[str, Any]) -> Dict[str, Any]:
        claim = header.get("verdict")
        if self.req.mode == "compile":
            return self._compiled(header)
        problem = _malformed(claim)
        if problem:
            return self.forged(f"sent a verdict that is not one ({problem})")
        v = {k: claim.get(k) for k in ("status", "stage", "stageMillis", "correctness", "timing", "checks",
                                        "customKernel", "logs", "error", "devicePoisoned", "kernelbench")}
        v.update({"candidateId": self.req.id, "problemId": self.req.extra.get("problemId"), "device": None,
                  "environment": self._environment()})
        if v["stage"] not in names.STAGES and v["stage"] != "compile":
            v["stage"] = self.stage
        checks = {c["name"]: c for c in v["checks"]}
        status = v["status"]
        notes: List[str] = []
        verified = len(self.results) == len(self.seeds)
        passes = verified and all(ok for ok, _, _ in self.results)
        kb_passes = verified and all(kb for _, kb, _ in self.results)
        correctness = v["correctness"] if isinstance(v["correctness"], dict) else None
        # A rejection after the correctness stage claims every trial passed: that claim is checked too.
        claimed_pass = status == "CORRECT" or (status == "REJECTED" and correctness is not None
                                               and correctness.get("passed") == len(self.seeds))
        if correctness is not None and self.results and not (status == "INCORRECT" and passes):
            correctness.update(self._correctness())
            correctness["degenerate"] = _degenerate(correctness.get("degenerate"))
        if claimed_pass and not passes:
            why = self._disagreement()
            notes.append(f"The judge's own comparison disagrees with the evaluation process, which claimed "
                         f"{status}: {why}. Its claim was discarded.")
            checks["timer_integrity"] = {"name": "timer_integrity", "outcome": "FAILED", "detail":
                                         f"the evaluation process claimed {status}, but the judge's own "
                                         f"comparison {why}: candidate code tampered with the verifier's "
                                         "checks (or an output lies on the edge of the tolerance)"}
            status = "INCORRECT"
            v["stage"] = "correctness"
            correctness = {"degenerate": _degenerate((correctness or {}).get("degenerate")), **self._correctness()}
        elif status in ("CORRECT", "REJECTED") and v["timing"] is not None or status == "CORRECT":
            bad = self._timing_problem(v["timing"])
            if bad:
                checks["timer_integrity"] = {"name": "timer_integrity", "outcome": "FAILED",
                                             "detail": "the judge's clock: " + bad}
                status = "REJECTED"
        v["status"] = status
        v["correctness"] = correctness
        if status not in ("CORRECT", "REJECTED") or not isinstance(v["timing"], dict) or not (
                _stats_ok(v["timing"].get("candidate")) and _stats_ok(v["timing"].get("reference"))):
            v["timing"] = None
        elif v["timing"] is not None:
            cand, ref = v["timing"]["candidate"]["medianMs"], v["timing"]["reference"]["medianMs"]
            v["timing"]["speedup"] = ref / cand if cand > 0 else None
        v["checks"] = [checks.get(n, {"name": n, "outcome": "SKIPPED", "detail": "not reported"})
                       for n in names.CHECKS]
        kb = v["kernelbench"] if isinstance(v["kernelbench"], dict) else {"rules": self.req.kernelbench_rules}
        kb.update({"correct": bool(kb.get("correct")) and kb_passes, "trials": len(self.seeds),
                   "trialsPassed": sum(1 for _, k, _ in self.results if k)})
        failed = [(c["name"], c["detail"]) for c in v["checks"] if c["outcome"] == "FAILED"]
        v["kernelbench"] = kernelbench_answer(kb, status, v["timing"], failed, self.req.atol, self.req.rtol)
        v["summary"] = "\n".join(notes + [summary.for_verdict(v)])
        return v

    def _correctness(self) -> Dict[str, Any]:
        max_abs = max((r.max_abs for _, _, r in self.results if r.max_abs is not None), default=0.0)
        max_rel = max((r.max_rel or 0.0 for _, _, r in self.results if r.max_abs is not None), default=0.0)
        first = next(((t, r.mismatch) for t, (ok, _, r) in enumerate(self.results) if not ok and r.mismatch), None)
        if first is None and len(self.results) < len(self.seeds):
            first = (len(self.results), compare.Mismatch("structure", None, "the trial's outputs",
                                                         "none reached the judge"))
        return {"trials": len(self.seeds), "passed": sum(1 for ok, _, _ in self.results if ok),
                "maxAbsError": max_abs, "maxRelError": max_rel, "atol": self.req.atol, "rtol": self.req.rtol,
                "firstMismatch": first[1].as_dict(first[0]) if first else None}

    def _disagreement(self) -> str:
        if len(self.results) < len(self.seeds):
            return (f"saw only {len(self.results)} of the {len(self.seeds)} trials' outputs, so it could not "
                    "confirm them")
        failing = [t for t, (ok, _, _) in enumerate(self.results) if not ok]
        return f"fails trial(s) {', '.join(map(str, failing))} of {len(self.seeds)}"

    def _timing_problem(self, timing_: Any) -> Optional[str]:
        for wall, elapsed, stats in self.timed:
            reason = implausible_timing(wall, stats, elapsed)
            if reason:
                return reason
        if not isinstance(timing_, dict) or not _stats_ok(timing_.get("candidate")) or not _stats_ok(
                timing_.get("reference")):
            return "the verdict carries no timing the judge can read"
        measured = [s for _, _, stats in self.timed for s in [stats.get("candidate")] if s]
        if not any(_same_stats(timing_["candidate"], m) for m in measured):
            return "the verdict's candidate time is none the evaluation reported measuring"
        references = [s for _, _, stats in self.timed for s in [stats.get("reference")] if s]
        if self.req.reference_timing:
            references.append(self.req.reference_timing)
        if not any(_same_stats(timing_["reference"], m) for m in references):
            return "the verdict's reference time is none the evaluation reported measuring"
        return None

    def _compiled(self, header: Dict[str, Any]) -> Dict[str, Any]:
        """A compile process answers with its builds or a COMPILE_ERROR, never more: the worker takes a verdict
        from it as final."""
        result = header.get("compiled")
        if not isinstance(result, dict):
            return self.forged("sent a compile result that is not one")
        if result.get("event") == "compiled" and "verdict" not in result:
            builds = result.get("builds")
            if not isinstance(builds, list) or not all(isinstance(b, dict) for b in builds):
                return self.forged("sent builds that are not a list")
            return {"event": "compiled", "compileMillis": result.get("compileMillis"), "builds": builds}
        verdict = result.get("verdict")
        if result.get("event") != "result" or _malformed(verdict) or verdict.get("status") != "COMPILE_ERROR":
            return self.forged("sent a compile result that is not one (only builds or a COMPILE_ERROR are)")
        verdict.update({"candidateId": self.req.id, "problemId": self.req.extra.get("problemId"), "device": None,
                        "stage": "compile", "timing": None, "correctness": None})
        return {"event": "result", "verdict": verdict}

    def _environment(self) -> Dict[str, Any]:
        environment = dict(self.environment)
        try:
            environment["cpus"] = sorted(os.sched_getaffinity(self.channel.runner_pid))
        except OSError:
            pass
        return environment

    def forged(self, detail: str) -> Dict[str, Any]:
        """The verdict for a runner that broke the protocol: what the worker says of a forged line, REJECTED by
        timer_integrity."""
        checks = [{"name": n, "outcome": "SKIPPED", "detail": f"not reached: the judge stopped the evaluation at "
                                                               f"stage {self.stage}"} for n in names.CHECKS]
        checks[names.CHECKS.index("timer_integrity")] = {
            "name": "timer_integrity", "outcome": "FAILED",
            "detail": f"the evaluation process {detail}: candidate code tried to answer for the verifier"}
        v = {"candidateId": self.req.id, "problemId": self.req.extra.get("problemId"), "status": "REJECTED",
             "stage": self.stage, "stageMillis": {}, "correctness": None, "timing": None, "checks": checks,
             "customKernel": None, "environment": self._environment(), "device": None, "logs": [], "error": None,
             "devicePoisoned": False,
             "kernelbench": {"rules": self.req.kernelbench_rules, "compiled": self.stage not in (
                 "start", "static", "build"), "correct": False, "speedup": None, "differences": []}}
        v["summary"] = summary.for_verdict(v)
        return {"event": "result", "verdict": v}

    def _answer(self, result: Dict[str, Any]) -> None:
        if "event" not in result:  # a verdict of the judge's own making
            result = {"event": "result", "verdict": result}
        # Nothing of the candidate's is still running when the verdict goes out.
        stop_runner(self.channel)
        send(self.out, {"id": self.req.id, "token": self.req.token, **result})

    def _harness_error(self, error: str) -> None:
        stop_runner(self.channel)
        send(self.out, {"id": self.req.id, "token": self.req.token, "event": "harness_error", "error": error})
        self.out.flush()
        os._exit(1)


def _degenerate(claim: Any) -> Optional[Dict[str, Any]]:
    """The runner's degeneracy finding, kept only in its plain shape."""
    if not isinstance(claim, dict):
        return None
    return {"degenerate": bool(claim.get("degenerate")), "reason": str(claim.get("reason", ""))[:500],
            "resolvedWithExtraInputs": bool(claim.get("resolvedWithExtraInputs"))}


def _malformed(claim: Any) -> Optional[str]:
    if not isinstance(claim, dict):
        return "no object"
    if claim.get("status") not in STATUSES:
        return "no status"
    checks = claim.get("checks")
    if not isinstance(checks, list) or not all(
            isinstance(c, dict) and c.get("name") in names.CHECKS and c.get("outcome") in OUTCOMES
            and isinstance(c.get("detail"), str) for c in checks):
        return "checks the judge does not know"
    if len({c["name"] for c in checks}) != len(checks):
        return "a check listed twice"
    for key, kind in (("correctness", dict), ("timing", dict), ("customKernel", dict), ("kernelbench", dict),
                      ("stageMillis", dict), ("logs", list)):
        if claim.get(key) is not None and not isinstance(claim.get(key), kind):
            return f"a {key} that is not a {kind.__name__}"
    if not isinstance(claim.get("stage"), str):
        return "no stage"
    return None


def stop_runner(channel: JudgeChannel) -> None:
    try:
        os.kill(channel.runner_pid, signal.SIGKILL)
    except OSError:
        pass
    if channel.exit_status is None:
        try:
            _, channel.exit_status = os.waitpid(channel.runner_pid, 0)
        except ChildProcessError:
            pass


def mirror_exit(status: Optional[int], protocol_out: TextIO) -> None:
    """The runner died without a verdict: the judge dies the same way, so the worker sees what it always saw of a
    harness that crashed (the signal, or the exit status) and writes the same RUNTIME_ERROR."""
    try:
        protocol_out.flush()
    except OSError:
        pass
    sys.stderr.flush()
    if status is not None and os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
        except (OSError, ValueError, RuntimeError):
            pass
        os.kill(os.getpid(), sig)
        time.sleep(1)
        os._exit(128 + sig)
    os._exit(os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status) else 1)


def serve(channel: JudgeChannel, protocol_out: TextIO, environment: Dict[str, Any], role: str) -> None:
    """The judge's whole life after warm-up: ready, one request, one verdict."""
    try:
        header, payload = channel.next_frame()
        if header.get("t") != "ready" or payload:
            raise ChannelError("no ready message")
    except RunnerGone as gone:
        mirror_exit(gone.status, protocol_out)
    if header.get("sealed") is not True:
        gaps = environment["isolation"]["gaps"]
        gaps.append("no seccomp filter between the candidate and its judge: it may signal the judge")
    send(protocol_out, {"event": "ready", "pid": os.getpid(), "role": role,
                        "torch": environment["torch"], "device": environment["device"]})
    line = sys.stdin.readline()
    if not line.strip():
        stop_runner(channel)
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    request = Request.parse(line)
    if request.mode == "headers":
        # No candidate: the judge builds the precompiled header itself, the runner is not needed.
        stop_runner(channel)
        from . import headers
        built = headers.build(os.path.join(request.scratch_dir, "pch"), HEADERS_SECONDS)
        send(protocol_out, {"id": request.id, "token": request.token, "event": "headers", **built})
        return
    try:
        Judge(request, channel, protocol_out, environment).run()
    except Exception:  # a bug of the judge itself: never the candidate's verdict
        stop_runner(channel)
        send(protocol_out, {"id": request.id, "token": request.token, "event": "harness_error",
                            "error": traceback.format_exc()[-4000:]})
        raise

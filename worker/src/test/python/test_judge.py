"""The judge and its runner: the timing bound, the runner's seccomp filter, the channel's framing, and whole
evaluations in real harness processes (cpu) where the candidate attacks the verdict from inside its process."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest
import uuid

import torch

from harness import channel, isolation, judge
from harness import compare as compare_module

HARNESS_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(judge.__file__)))
# cpu here; KFARM_TEST_BACKEND=cuda runs the same evaluations on a GPU host.
BACKEND = os.environ.get("KFARM_TEST_BACKEND", "cpu")


class TimingBoundTest(unittest.TestCase):
    @staticmethod
    def stats(trials, mean_ms):
        return {"trials": trials, "meanMs": mean_ms, "medianMs": mean_ms}

    def test_honest_long_calls_pass(self):
        # 100 candidate calls of 3 ms and 100 reference calls of 5 us, with 0.3 ms of overhead each.
        wall = 100 * 3e-3 + 100 * 5e-6 + 200 * 0.3e-3
        self.assertIsNone(judge.implausible_timing(wall, {"candidate": self.stats(100, 3.0),
                                                          "reference": self.stats(100, 0.005)}))

    def test_short_calls_are_not_held_to_the_wall_clock(self):
        # 200 calls of 5 us with 40 us of Python around each: the overheads dominate, honestly.
        self.assertIsNone(judge.implausible_timing(200 * 45e-6, {"candidate": self.stats(100, 0.005),
                                                                 "reference": self.stats(100, 0.005)}))

    def test_a_slowed_clock_is_caught(self):
        # The candidate's calls really took 5 ms each; the runner's clock said 50 us. The reference's honest
        # 5 ms calls do not hide it.
        reason = judge.implausible_timing(200 * 5e-3, {"candidate": self.stats(100, 0.05),
                                                       "reference": self.stats(100, 5.0)})
        self.assertIn("tampered", reason)
        self.assertIsNotNone(judge.implausible_timing(100 * 5e-3, {"candidate": self.stats(100, 0.05)}))

    def test_claims_beyond_the_wall_clock_are_caught(self):
        reason = judge.implausible_timing(0.05, {"candidate": self.stats(100, 1.0), "reference": self.stats(100, 9.0)})
        self.assertIn("made up", reason)

    def test_time_spent_waiting_for_a_core_is_in_honest_claims(self):
        # On a loaded host the runner waited 1.85 s of 2.95 s for a core: its wall-clock claims include that wait,
        # so they are held to everything that passed, not to the 1.1 s left after the wait is taken off (the demo's
        # Linear problem was called made up that way).
        stats = {"candidate": self.stats(100, 28.0), "reference": self.stats(10, 12.0)}
        self.assertIsNone(judge.implausible_timing(1.1, stats, 2.95))
        self.assertIn("made up", judge.implausible_timing(1.1, stats, 1.15))


class SeccompTest(unittest.TestCase):
    def test_the_runner_cannot_signal_or_limit_the_judge(self):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            results = {"installed": isolation.protect_judge(os.getppid())}
            for name, target in (("judge", os.getppid()), ("everyone", -1), ("group", 0),
                                 ("self", os.getpid())):
                try:
                    os.kill(target, 0)
                    results[name] = "allowed"
                except OSError as error:
                    results[name] = error.strerror
            try:
                import resource
                resource.prlimit(os.getppid(), resource.RLIMIT_NOFILE)
                results["prlimit"] = "allowed"
            except OSError as error:
                results["prlimit"] = error.strerror
            results["exec"] = subprocess.run(["true"]).returncode
            os.write(write, json.dumps(results).encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as f:
            results = json.loads(f.read())
        os.waitpid(pid, 0)
        if not results["installed"]:
            self.skipTest("no seccomp here")
        for name in ("judge", "everyone", "group", "prlimit"):
            self.assertEqual("Operation not permitted", results[name], name)
        self.assertEqual("allowed", results["self"])
        self.assertEqual(0, results["exec"])


class ChannelTest(unittest.TestCase):
    def round_trip(self, outputs, mangle=None):
        to_judge = os.pipe()
        to_runner = os.pipe()
        runner = channel.RunnerChannel(to_judge[1], to_runner[0])
        judge_end = channel.JudgeChannel(to_judge[0], to_runner[1], os.getpid())

        def send():
            descriptions, payload = channel.describe(outputs)
            if mangle:
                mangle(descriptions)
            try:
                runner.send({"t": "trial", "trial": 0, "seed": 1, "outputs": descriptions}, payload)
            except BrokenPipeError:  # the judge refused the header and stopped reading
                pass
            channel.release()

        sender = threading.Thread(target=send)
        sender.start()
        try:
            header, payload = judge_end.next_frame()
            return channel.receive_outputs(judge_end, header["outputs"], payload, torch.device("cpu"))
        finally:
            os.close(to_judge[0])
            sender.join()
            for fd in (to_judge[1], to_runner[0], to_runner[1]):
                os.close(fd)

    def test_the_runners_pipe_is_widened_for_large_outputs(self):
        read_end, write_end = os.pipe()
        try:
            channel.widen(write_end)
            # F_GETPIPE_SZ (1032): the buffer the kernel gave, at least what was asked on a default host.
            import fcntl
            self.assertGreaterEqual(fcntl.fcntl(read_end, getattr(fcntl, "F_GETPIPE_SZ", 1032)), channel.PIPE_BYTES)
        finally:
            os.close(read_end)
            os.close(write_end)

    def test_outputs_cross_as_they_are(self):
        outputs = [torch.randn(3, 5), torch.randn(4, 2).t(), torch.arange(6).reshape(2, 3),
                   torch.randn(7).to(torch.bfloat16), torch.tensor([True, False]), torch.empty(0, 4),
                   torch.tensor(2.5), 3, float("nan"), None, "text", object()]
        received = self.round_trip(outputs)
        for sent, got in zip(outputs[:7], received[:7]):
            self.assertEqual(sent.dtype, got.dtype)
            self.assertEqual(sent.shape, got.shape)
            self.assertTrue(torch.equal(sent, got))
        self.assertEqual(3, received[7])
        self.assertNotEqual(received[8], received[8])  # NaN
        self.assertEqual([None, "text"], received[9:11])
        self.assertIsInstance(received[11], channel.Opaque)
        self.assertFalse(received[11] == received[11])

    def test_outputs_unlike_the_reference_are_not_read(self):
        to_judge, to_runner = os.pipe(), os.pipe()
        runner = channel.RunnerChannel(to_judge[1], to_runner[0])
        judge_end = channel.JudgeChannel(to_judge[0], to_runner[1], os.getpid())
        descriptions, payload = channel.describe([torch.randn(64, 64), torch.randn(3)])
        sender = threading.Thread(target=lambda: runner.send({"t": "trial", "outputs": descriptions}, payload))
        sender.start()
        header, size = judge_end.next_frame()
        got = channel.receive_outputs(judge_end, header["outputs"], size, torch.device("cpu"),
                                      like=[torch.zeros(2, 2), torch.zeros(3)])
        sender.join()
        self.assertEqual("meta", got[0].device.type)
        self.assertEqual([64, 64], list(got[0].shape))
        self.assertEqual("shape", compare_module.compare([torch.zeros(2, 2)], got[:1], 0.01, 0.01).mismatch.kind)
        self.assertEqual("cpu", got[1].device.type)
        for fd in (*to_judge, *to_runner):
            os.close(fd)

    def test_a_size_that_does_not_match_the_shape_is_refused(self):
        def lie(descriptions):
            descriptions[0]["shape"] = [2, 2]
        with self.assertRaises(channel.ChannelError):
            self.round_trip([torch.randn(3, 3)], lie)

    def test_an_unknown_dtype_is_refused(self):
        def lie(descriptions):
            descriptions[0]["dtype"] = "os.system"
        with self.assertRaises(channel.ChannelError):
            self.round_trip([torch.randn(3)], lie)


RELU = textwrap.dedent("""
    import torch
    import torch.nn as nn


    class Model(nn.Module):
        def forward(self, x):
            return torch.relu(x)


    def get_inputs():
        return [torch.randn(16, 64)]


    def get_init_inputs():
        return []
    """)


class EvaluationProcessTest(unittest.TestCase):
    """Whole evaluations in a real harness process (judge and runner), unsandboxed, on the cpu backend. The
    candidates here attack only their own process and their parent, the judge."""

    def evaluate(self, candidate, role="evaluate", **request):
        process, token = self.start(candidate, role, **request)
        stages, result = [], None
        for raw in process.stdout:
            message = json.loads(raw)
            if message.get("event") == "stage":
                stages.append(message["stage"])
            else:
                result = message
                break
        code = process.wait(timeout=120)
        if result is not None:
            self.assertEqual(token, result.get("token"), "the judge's line carries the token")
        return result, stages, code

    def start(self, candidate, role="evaluate", **request):
        work = tempfile.mkdtemp(prefix="kfarm-judge-test-")
        self.addCleanup(shutil.rmtree, work, True)
        scratch = os.path.join(work, "scratch")
        os.makedirs(os.path.join(scratch, "tmp"))
        for name, text in (("problem.py", RELU), ("candidate.py", textwrap.dedent(candidate))):
            with open(os.path.join(scratch, name), "w") as f:
                f.write(text)
        token = str(uuid.uuid4())
        line = {"id": "c-test", "mode": "evaluate", "problem_path": os.path.join(scratch, "problem.py"),
                "candidate_path": os.path.join(scratch, "candidate.py"), "backend": BACKEND,
                "build_dir": os.path.join(scratch, "build"), "scratch_dir": scratch, "token": token,
                "timing_trials": 20, "warmup_runs": 2, "extra": {"problemId": "relu"}, **request}
        env = {"PATH": "/usr/bin:/bin", "HOME": scratch, "TMPDIR": os.path.join(scratch, "tmp"),
               "PYTHONPATH": HARNESS_ROOT, "PYTHONDONTWRITEBYTECODE": "1", "KFARM_ROLE": role,
               "KFARM_BACKEND": BACKEND, "KFARM_SANDBOX_GAPS": "a unit test"}
        env.update({k: os.environ[k] for k in ("CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH", "CUDA_HOME")
                    if k in os.environ})
        with open(os.path.join(work, "stderr"), "w") as stderr:
            process = subprocess.Popen([sys.executable, "-m", "harness"], cwd=scratch, env=env,
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                       start_new_session=True)
        self.addCleanup(lambda: _kill_group(process))
        ready = json.loads(process.stdout.readline())
        self.assertEqual("ready", ready["event"])
        process.stdin.write((json.dumps(line) + "\n").encode())
        process.stdin.close()
        return process, token

    def test_an_honest_candidate_is_correct(self):
        result, stages, _ = self.evaluate("""
            import torch
            import torch.nn as nn
            class ModelNew(nn.Module):
                def forward(self, x):
                    return torch.relu(x)
            """)
        verdict = result["verdict"]
        self.assertEqual("CORRECT", verdict["status"], verdict["summary"])
        self.assertEqual(["load", "correctness", "anticheat", "timing"], stages)
        self.assertEqual(5, verdict["correctness"]["passed"])
        self.assertTrue(verdict["kernelbench"]["correct"])
        self.assertIsNotNone(verdict["kernelbench"]["speedup"])

    def test_patched_comparisons_in_the_runner_do_not_pass_a_wrong_answer(self):
        result, _, _ = self.evaluate("""
            import sys
            import torch
            import torch.nn as nn
            compare = sys.modules["harness.compare"]
            compare.compare = lambda r, c, a, t: compare.Comparison(True, 0.0, 0.0, None)
            sys.modules["harness.integrity"].Integrity.violations = lambda self: []
            class ModelNew(nn.Module):
                def forward(self, x):
                    return torch.relu(x) + 1
            """)
        verdict = result["verdict"]
        self.assertEqual("INCORRECT", verdict["status"], verdict["summary"])
        self.assertEqual(0, verdict["correctness"]["passed"])
        self.assertIn("disagrees", verdict["summary"])
        self.assertFalse(verdict["kernelbench"]["correct"])

    def test_a_correct_verdict_sent_by_the_candidate_is_not_believed(self):
        result, _, _ = self.evaluate("""
            import gc
            import torch
            import torch.nn as nn
            for o in gc.get_objects():
                if type(o).__name__ == "RunnerChannel":
                    o.send({"t": "result", "verdict": {"status": "CORRECT", "stage": "timing", "checks": [],
                                                       "summary": "fast"}})
            class ModelNew(nn.Module):
                def forward(self, x):
                    return torch.zeros_like(x)
            """)
        verdict = result["verdict"]
        self.assertEqual("INCORRECT", verdict["status"], verdict["summary"])
        self.assertEqual("FAILED", _check(verdict, "timer_integrity")["outcome"])

    def test_bytes_written_on_the_judges_channel_are_a_forgery(self):
        result, _, _ = self.evaluate("""
            import os
            import torch
            import torch.nn as nn
            os.write(3, b'{"v": 1, "event": "result", "verdict": {"status": "CORRECT"}}\\n')
            class ModelNew(nn.Module):
                def forward(self, x):
                    return torch.relu(x)
            """)
        verdict = result["verdict"]
        self.assertEqual("REJECTED", verdict["status"], verdict["summary"])
        self.assertEqual("FAILED", _check(verdict, "timer_integrity")["outcome"])

    def test_a_runner_that_dies_takes_the_judge_the_same_way(self):
        result, stages, code = self.evaluate("""
            import os
            import torch
            import torch.nn as nn
            class ModelNew(nn.Module):
                def forward(self, x):
                    os._exit(7)
            """)
        self.assertIsNone(result)
        self.assertEqual(7, code)
        self.assertEqual("correctness", stages[-1])

    def test_a_compile_process_relays_builds_and_compile_errors_only(self):
        forger = """
            import gc
            import torch
            import torch.nn as nn
            for o in gc.get_objects():
                if type(o).__name__ == "Request" and not o.token:
                    found_no_token = True
                if type(o).__name__ == "RunnerChannel":
                    o.send({"t": "result", "compiled": {"event": "result", "verdict": {
                        "status": "CORRECT", "stage": "timing", "checks": [], "summary": "fast"}}})
            class ModelNew(nn.Module):
                def forward(self, x):
                    return torch.zeros_like(x)
            """
        result, stages, _ = self.evaluate(forger, role="compile", mode="compile")
        self.assertEqual("REJECTED", result["verdict"]["status"], result["verdict"]["summary"])
        self.assertEqual("FAILED", _check(result["verdict"], "timer_integrity")["outcome"])
        honest, stages, _ = self.evaluate("""
            import torch
            import torch.nn as nn
            class ModelNew(nn.Module):
                def forward(self, x):
                    return torch.relu(x)
            """, role="compile", mode="compile")
        self.assertEqual("compiled", honest["event"])
        self.assertEqual(["compile"], stages)

    def test_the_runner_dies_with_the_judge(self):
        process, _ = self.start("""
            import time
            import torch
            import torch.nn as nn
            class ModelNew(nn.Module):
                def forward(self, x):
                    time.sleep(60)
            """)
        for raw in process.stdout:
            if json.loads(raw).get("stage") == "correctness":
                break
        with open(f"/proc/{process.pid}/task/{process.pid}/children") as f:
            runners = [int(pid) for pid in f.read().split()]
        self.assertEqual(1, len(runners), "one runner per judge")
        time.sleep(0.5)  # into forward's sleep, where nothing reads the judge's channel
        os.kill(process.pid, signal.SIGKILL)  # the judge alone, not its group
        process.wait()
        for _ in range(100):
            if not _alive(runners[0]):
                break
            time.sleep(0.05)
        self.assertFalse(_alive(runners[0]), "the runner outlived its judge")

    def test_the_runner_cannot_kill_the_judge(self):
        result, _, _ = self.evaluate("""
            import os
            import signal
            import torch
            import torch.nn as nn
            os.kill(os.getppid(), signal.SIGKILL)
            class ModelNew(nn.Module):
                def forward(self, x):
                    return torch.relu(x)
            """)
        verdict = result["verdict"]
        self.assertEqual("RUNTIME_ERROR", verdict["status"], verdict["summary"])
        self.assertIn("Operation not permitted", verdict["summary"])

    def test_a_slow_honest_candidate_is_not_taken_for_a_forger(self):
        result, _, _ = self.evaluate("""
            import time
            import torch
            import torch.nn as nn
            class ModelNew(nn.Module):
                def forward(self, x):
                    time.sleep(0.005)
                    return torch.relu(x)
            """, timing_trials=100)
        verdict = result["verdict"]
        self.assertEqual("CORRECT", verdict["status"], verdict["summary"])
        self.assertEqual("PASSED", _check(verdict, "timer_integrity")["outcome"])

    def test_a_runner_clock_that_runs_slow_is_caught(self):
        result, _, _ = self.evaluate("""
            import sys
            import time
            import torch
            import torch.nn as nn
            timing = sys.modules["harness.timing"]
            sys.modules["harness.integrity"].Integrity.violations = lambda self: []
            def slowed(honest):
                def fast(self, call):
                    own, whole, out = honest(self, call)
                    return own / 100, whole if whole is None else whole / 100, out
                return fast
            for timer in (timing.WallTimer, timing.CudaTimer):
                timer.time_call = slowed(timer.time_call)
            class ModelNew(nn.Module):
                def forward(self, x):
                    time.sleep(0.005)
                    return torch.relu(x)
            """, timing_trials=100)
        verdict = result["verdict"]
        self.assertEqual("REJECTED", verdict["status"], verdict["summary"])
        self.assertIn("judge's clock", _check(verdict, "timer_integrity")["detail"])
        self.assertTrue(verdict["kernelbench"]["correct"], "the outputs themselves are right")


def _check(verdict, name):
    return next(c for c in verdict["checks"] if c["name"] == name)


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _kill_group(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:
        pass
    process.wait()
    process.stdout.close()


if __name__ == "__main__":
    unittest.main()

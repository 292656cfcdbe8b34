"""Interleaved timing: each contender gets exactly its trials, spread over the run."""
import unittest

from harness import timing


class CountingTimer(timing.Timer):
    method = "test"

    def __init__(self):
        self.order = []

    def time_call(self, call):
        return 1.0, None, call()


class TimingTest(unittest.TestCase):
    def test_each_contender_gets_its_trials_interleaved(self):
        order = []
        calls = {"reference": lambda: order.append("r"), "candidate": lambda: order.append("c")}
        stats = timing.interleaved(CountingTimer(), calls, {"reference": 10, "candidate": 100}, warmup=2)
        self.assertEqual(10, stats["reference"].trials)
        self.assertEqual(100, stats["candidate"].trials)
        timed = order[4:]
        positions = [i for i, who in enumerate(timed) if who == "r"]
        self.assertLess(positions[0], 15)
        self.assertGreater(positions[-1], len(timed) - 15)

    def test_stats_round_trip(self):
        stats = timing.Stats.of([1.0, 2.0, 3.0], [2.5, 2.5, 2.5])
        self.assertEqual(2.0, stats.median_ms)
        self.assertEqual(2.5, stats.sync_median_ms)
        self.assertEqual(stats, timing.Stats.from_dict(stats.as_dict()))


class PinTest(unittest.TestCase):
    def test_every_thread_moves_to_the_timed_cores(self):
        import os
        import threading
        from harness import isolation
        before = sorted(os.sched_getaffinity(0))
        started = threading.Event()
        stop = threading.Event()
        worker = threading.Thread(target=lambda: (started.set(), stop.wait()))
        worker.start()
        started.wait()
        try:
            self.assertEqual([before[-1]], isolation.pin_cpus([before[-1]]))
            self.assertEqual({before[-1]}, os.sched_getaffinity(worker.native_id))
        finally:
            stop.set()
            worker.join()
            isolation.pin_cpus(before)


if __name__ == "__main__":
    unittest.main()

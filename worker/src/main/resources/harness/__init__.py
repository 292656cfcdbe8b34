"""KernelFarm's verification harness: checks, times and judges one candidate kernel per process.

The worker JVM starts it with ``python3 -m harness`` and talks JSON lines over stdin/stdout
(see protocol.py). Standard library and torch only; triton is imported lazily for its backend.
"""

# Bumped whenever a change can alter a verdict: verdicts record it so results stay reproducible.
VERSION = "1.0.0"

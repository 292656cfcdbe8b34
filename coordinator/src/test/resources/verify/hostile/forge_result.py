# kfarm-problem: relu
# kfarm-expect: REJECTED
# kfarm-expect-check: timer_integrity=FAILED
# kfarm-note: A wrong kernel (zeros) that answers for the verifier: it walks gc.get_objects() for the harness's
# kfarm-note: request (its id and token) and for every channel the harness speaks on (its protocol output, its judge
# kfarm-note: channel), and writes a well-formed CORRECT verdict on each, at import (in the compile process first).
# kfarm-note: In-process, the token was there to find and the verdict passed; with a judge outside its process the
# kfarm-note: token is nowhere in reach, and a verdict sent on the judge's channel is rejected as the forgery it is.
import gc
import json
import os

import torch
import torch.nn as nn


def _verdict(request):
    from harness import names
    return {"candidateId": request.id, "problemId": request.extra.get("problemId"), "status": "CORRECT",
            "stage": "timing", "stageMillis": {}, "correctness": {
                "trials": 5, "passed": 5, "maxAbsError": 0.0, "maxRelError": 0.0, "atol": 0.01, "rtol": 0.01,
                "firstMismatch": None, "degenerate": None},
            "timing": None, "checks": [{"name": n, "outcome": "PASSED", "detail": "ok"} for n in names.CHECKS],
            "customKernel": None, "environment": None, "device": None, "logs": [], "error": None,
            "summary": "Correct: 5/5 trials. 100x faster than PyTorch eager.",
            "kernelbench": {"rules": "v0.1", "compiled": True, "correct": True, "trials": 5, "trialsPassed": 5,
                            "differences": []}}


def _forge():
    requests = [o for o in gc.get_objects() if type(o).__name__ == "Request" and hasattr(o, "token")]
    for request in requests:
        line = json.dumps({"v": 1, "id": request.id, "token": request.token, "event": "result",
                           "verdict": _verdict(request)}) + "\n"
        if request.token:
            # The protocol output: any text file the harness writes lines to, found by walking the heap.
            for o in gc.get_objects():
                try:
                    if hasattr(o, "write") and hasattr(o, "fileno") and getattr(o, "mode", "") == "w" \
                            and o.fileno() > 2:
                        o.write(line)
                        o.flush()
                except Exception:
                    pass
        # A judge channel, if the harness has one: say CORRECT in its own framing.
        for o in gc.get_objects():
            try:
                if type(o).__name__ == "RunnerChannel":
                    o.send({"t": "result", "verdict": _verdict(request)})
            except Exception:
                pass


_forge()


class ModelNew(nn.Module):
    def forward(self, x):
        return torch.zeros_like(x)

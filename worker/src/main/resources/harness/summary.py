"""Turns what happened into the text the next LLM round reads: short, specific, actionable."""
from __future__ import annotations

import re
import traceback
from typing import Any, Dict, List, Optional

_ERROR_LINE = re.compile(r"(\berror\b|\bError\b|undefined reference|fatal|No such file)")
_NOISE = re.compile(r"^(\[\d+/\d+\]|FAILED: |ninja: |c\+\+ |/usr/\S*nvcc |\S*nvcc |Traceback|"
                    r"  File |subprocess\.CalledProcessError|The above exception)")


def compiler_lines(output: str, limit: int = 12) -> List[str]:
    """The lines of a build log that say what is wrong, with the source line nvcc/g++ quote."""
    lines = output.splitlines()
    picked: List[str] = []
    for i, line in enumerate(lines):
        if _NOISE.search(line) or not _ERROR_LINE.search(line):
            continue
        if line.lower().startswith("error building extension"):
            # torch puts the whole ninja log after this colon; the compiler lines follow on their own.
            if not picked:
                picked.append(line.split(":", 1)[0].strip())
            continue
        picked.append(line.strip()[:300])
        # g++ and nvcc quote the offending source line right after the message.
        if i + 1 < len(lines) and lines[i + 1].startswith(" ") and not _ERROR_LINE.search(
                lines[i + 1]):
            picked.append(lines[i + 1].rstrip()[:300])
        if len(picked) >= limit:
            break
    if not picked:
        tail = [l.strip() for l in lines if l.strip() and not _NOISE.search(l)]
        picked = tail[-limit:]
    return picked


def exception_text(error: BaseException, candidate_file: Optional[str], limit: int = 8) -> str:
    """The exception and the candidate's own frames (harness frames say nothing to a model)."""
    frames = traceback.extract_tb(error.__traceback__)
    own = [f for f in frames if candidate_file and f.filename == candidate_file]
    where = "".join(f"\n  at line {f.lineno} in {f.name}: {(f.line or '').strip()}"
                    for f in own[-3:])
    message = str(error).strip()
    message_lines = message.splitlines()
    if len(message_lines) > limit:
        message = "\n".join(message_lines[:limit]) + "\n  ..."
    return f"{type(error).__name__}: {message}{where}"


def fmt_ms(ms: Optional[float]) -> str:
    if ms is None:
        return "?"
    return f"{ms * 1000:.1f} us" if ms < 0.1 else f"{ms:.3f} ms"


def for_verdict(verdict: Dict[str, Any]) -> str:
    status = verdict["status"]
    lines: List[str] = []
    correctness = verdict.get("correctness") or {}
    timing = verdict.get("timing") or {}
    failed = [c for c in verdict.get("checks", []) if c["outcome"] == "FAILED"]
    flagged = [c for c in verdict.get("checks", []) if c["outcome"] == "FLAGGED"]
    if status == "CORRECT":
        lines.append(f"Correct: {correctness.get('passed')}/{correctness.get('trials')} trials "
                     f"within atol={correctness.get('atol')} rtol={correctness.get('rtol')} "
                     f"(max abs err {correctness.get('maxAbsError', 0):.3g}).")
        if timing.get("speedup") is not None:
            ref = timing["reference"]["medianMs"]
            cand = timing["candidate"]["medianMs"]
            speedup = timing["speedup"]
            verdict_word = "faster" if speedup > 1.0 else "slower"
            lines.append(f"Timing: candidate {fmt_ms(cand)} vs reference {fmt_ms(ref)} (median of "
                         f"{timing['candidate']['trials']}): {speedup:.2f}x, {verdict_word} than "
                         f"PyTorch eager.")
            if speedup <= 1.0:
                lines.append("Next: it is correct but slower; profile where the time goes "
                             "(memory traffic, launch count, occupancy) and fuse or vectorise.")
            else:
                lines.append("Next: keep this correct kernel as the base; look for further fusion "
                             "or better memory access.")
    elif status == "INCORRECT":
        mismatch = correctness.get("firstMismatch") or {}
        kind = mismatch.get("kind")
        if kind == "shape":
            lines.append(f"Wrong output shape in trial {mismatch.get('trial')}: expected "
                         f"{mismatch.get('expected')}, got {mismatch.get('actual')}.")
        elif kind == "dtype":
            lines.append(f"Wrong output dtype: expected {mismatch.get('expected')}, got "
                         f"{mismatch.get('actual')}.")
        elif kind == "nan":
            lines.append(f"Output contains NaN/Inf at index {mismatch.get('index')} in trial "
                         f"{mismatch.get('trial')} (reference {mismatch.get('expected')}).")
        else:
            lines.append(f"Wrong values: {correctness.get('passed')}/{correctness.get('trials')} "
                         f"trials passed. First mismatch in trial {mismatch.get('trial')} at index "
                         f"{mismatch.get('index')}: expected {mismatch.get('expected')}, got "
                         f"{mismatch.get('actual')} (max abs err "
                         f"{(correctness.get('maxAbsError') or 0):.3g}, atol "
                         f"{correctness.get('atol')}, rtol {correctness.get('rtol')}).")
        lines.append("Next: check indexing, bounds and the formula against the reference.")
    elif status == "REJECTED":
        for check in failed:
            lines.append(f"Rejected by check '{check['name']}': {check['detail']}")
        lines.append("Next: compute the real result on the inputs given, on the current stream, "
                     "into a fresh output, with a kernel that is actually launched.")
    elif status in ("COMPILE_ERROR", "RUNTIME_ERROR"):
        lines.append(verdict.get("error") or status)
    for check in flagged:
        lines.append(f"Note ({check['name']}): {check['detail']}")
    return "\n".join(lines)

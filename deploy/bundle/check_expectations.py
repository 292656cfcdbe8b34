"""Compares verdicts with what each candidate's header says it must get (# kfarm-expect, # kfarm-expect-check,
# kfarm-expect-kernelbench: correct|incorrect, KernelBench's answer under the run's rules).

Usage: check_expectations.py CANDIDATE_DIR VERDICTS.jsonl [CANDIDATE_DIR VERDICTS.jsonl ...]; exit 1 on a miss.
"""
import json
import os
import re
import sys

HEADER = re.compile(r"^#\s*kfarm-([a-z-]+):\s*(.*?)\s*$")


def headers(path):
    found = {}
    with open(path) as f:
        for line in f.readlines()[:40]:
            m = HEADER.match(line)
            if m:
                found.setdefault(m.group(1), []).append(m.group(2))
    return found


def main() -> int:
    args = sys.argv[1:]
    misses = total = 0
    for folder, verdict_file in zip(args[::2], args[1::2]):
        verdicts = {}
        for line in open(verdict_file):
            v = json.loads(line)
            verdicts[v["candidateFile"]] = v
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".py"):
                continue
            h = headers(os.path.join(folder, name))
            v = verdicts.get(name)
            total += 1
            if v is None:
                misses += 1
                print(f"MISS {name}: no verdict")
                continue
            problems = []
            expected = h.get("expect", ["?"])[0]
            if v["status"] != expected:
                problems.append(f"status {v['status']} (expected {expected})")
            for exp in h.get("expect-kernelbench", []):
                got = "correct" if (v.get("kernelbench") or {}).get("correct") else "incorrect"
                if got != exp:
                    problems.append(f"KernelBench {got} (expected {exp})")
            checks = {c["name"]: c for c in v["checks"]}
            for exp in h.get("expect-check", []):
                check, outcome = exp.split("=")
                got = checks.get(check, {}).get("outcome")
                if got != outcome:
                    problems.append(f"{check}={got} (expected {outcome}): {checks.get(check, {}).get('detail')}")
            speed = v.get("timing", {}) or {}
            speed = f"{speed.get('speedup'):.2f}x" if speed.get("speedup") and v["status"] == "CORRECT" else "-"
            if problems:
                misses += 1
                print(f"MISS {name}: " + "; ".join(problems) + "\n     " + v["summary"].replace("\n", "\n     "))
            else:
                print(f"ok   {name}: {v['status']} {speed}")
    print(f"{total - misses}/{total} as expected")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())

"""Prints each candidate's verdict under both rule sets side by side: the strict status, KernelBench's answer by
v0.1's rules and by main's, their speedups, and why the strict status differs.

Usage: rule_sets_table.py V01_VERDICTS.jsonl MAIN_VERDICTS.jsonl  (two `kfarm verify --out` runs of one corpus, the
first with --kernelbench-rules v0.1, the second with main). Ends with fast_p and geomean under each rule set.
"""
import json
import math
import sys


def load(path):
    verdicts = {}
    with open(path) as f:
        for line in f:
            v = json.loads(line)
            verdicts[v.get("candidateFile") or v["candidateId"]] = v
    return verdicts


def kb_cell(v):
    kb = v.get("kernelbench") or {}
    if not kb.get("compiled"):
        return "not compiled"
    if not kb.get("correct"):
        return f"incorrect ({kb.get('trialsPassed', 0)}/{kb.get('trials', 0)})"
    speedup = kb.get("speedup")
    return f"correct {speedup:.2f}x" if speedup else "correct"


def strict_speedup(v):
    timing = v.get("timing") or {}
    return timing.get("speedup") if v["status"] == "CORRECT" else None


def figures(speedups, n):
    correct = [s for s in speedups if s is not None]
    fast = lambda p: sum(1 for s in correct if s > p) / n if n else 0.0
    geomean = math.exp(sum(math.log(s) for s in correct) / len(correct)) if correct else None
    return (f"correct {len(correct)}/{n}  fast_1.0 {100 * fast(1.0):.0f}%  fast_1.5 {100 * fast(1.5):.0f}%  "
            f"geomean {geomean:.2f}x" if geomean else f"correct {len(correct)}/{n}")


def main() -> int:
    v01, main_rules = load(sys.argv[1]), load(sys.argv[2])
    names = sorted(set(v01) | set(main_rules))
    print(f"{'candidate':44} {'strict':14} {'KernelBench v0.1':22} {'KernelBench main':22} why they differ")
    strict, kb01, kbmain = [], [], []
    for name in names:
        a, b = v01.get(name), main_rules.get(name)
        v = a or b
        s = strict_speedup(v)
        strict.append(s if s else None)
        cell = f"{v['status']}" + (f" {s:.2f}x" if s else "")
        kb01.append((a.get("kernelbench") or {}).get("speedup") if a and (a.get("kernelbench") or {}).get("correct")
                    else None)
        kbmain.append((b.get("kernelbench") or {}).get("speedup")
                      if b and (b.get("kernelbench") or {}).get("correct") else None)
        why = "; ".join(((a or {}).get("kernelbench") or {}).get("differences") or
                        ((b or {}).get("kernelbench") or {}).get("differences") or [])
        print(f"{name[:44]:44} {cell:14} {kb_cell(a) if a else '-':22} {kb_cell(b) if b else '-':22} {why[:120]}")
    n = len(names)
    print(f"\nstrict:           {figures(strict, n)}")
    print(f"KernelBench v0.1: {figures(kb01, n)}")
    print(f"KernelBench main: {figures(kbmain, n)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

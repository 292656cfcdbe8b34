"""Writes every problem of a KernelBench JSON-lines file as its own candidate (Model renamed ModelNew).

The reference judged against itself must come out CORRECT with no anti-cheat failure and a speedup near 1.0:
the verifier's false-positive and timing-noise check. Usage: refs_as_candidates.py level1.jsonl OUT_DIR [FIRST LAST] (problem_id range, inclusive)
"""
import json
import os
import re
import sys


def main() -> int:
    source, out = sys.argv[1], sys.argv[2]
    first, last = (int(sys.argv[3]), int(sys.argv[4])) if len(sys.argv) > 4 else (0, 1 << 30)
    os.makedirs(out, exist_ok=True)
    count = 0
    with open(source) as rows:
        for line in rows:
            if not line.strip():
                continue
            row = json.loads(line)
            if not first <= int(row["problem_id"]) <= last:
                continue
            code = re.sub(r"\bclass Model\b", "class ModelNew", row["code"])
            code = re.sub(r"super\(\s*Model\s*,", "super(ModelNew,", code)
            header = f"# kfarm-problem: level{row['level']}/{row['name']}\n"
            with open(os.path.join(out, row["name"] + ".py"), "w") as f:
                f.write(header + code)
            count += 1
    print(f"{count} reference candidates in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Writes KernelBench problems with their module-level sizes cut down, for proofs about the farm rather than the
kernels: KernelBench's current level-1 sizes make 6.4 GB tensors (19_ReLU: 4096 x 393216), so one evaluation moves
tens of GB and a short cluster proof would measure that instead of joining, draining and resuming.

Usage: shrink_problems.py level1.jsonl OUT.jsonl NAME[,NAME...] [MAX_ELEMENTS]
Each integer assignment at the top of the problem (batch_size = 4096, dim = 393216, ...) is halved, largest first,
until their product is at most MAX_ELEMENTS (default 16M, 64 MB of fp32).
"""
import json
import re
import sys

ASSIGNMENT = re.compile(r"(?m)^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([0-9]+)\s*$")


def shrink(code: str, max_elements: int) -> str:
    sizes = {name: int(value) for name, value in ASSIGNMENT.findall(code)}
    product = 1
    for value in sizes.values():
        product *= max(value, 1)
    while product > max_elements:
        name = max(sizes, key=sizes.get)
        if sizes[name] <= 1:
            break
        product //= sizes[name]
        sizes[name] = max(1, sizes[name] // 2)
        product *= sizes[name]
    return ASSIGNMENT.sub(lambda m: f"{m.group(1)} = {sizes[m.group(1)]}", code)


def main() -> int:
    source, out, names = sys.argv[1], sys.argv[2], set(sys.argv[3].split(","))
    max_elements = int(sys.argv[4]) if len(sys.argv) > 4 else 16 << 20
    written = 0
    with open(source) as rows, open(out, "w") as sink:
        for line in rows:
            if not line.strip():
                continue
            row = json.loads(line)
            if row["name"] in names:
                row["code"] = shrink(row["code"], max_elements)
                sink.write(json.dumps(row) + "\n")
                written += 1
    print(f"{written} problems, at most {max_elements} elements each, in {out}")
    return 0 if written == len(names) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Our reference timings next to KernelBench's published ones (H100_Modal by default).

Reads verdicts.jsonl from `kfarm verify` over level-1 references; prints, per problem, our reference time
(mean with the device synchronised, and the current stream's median, which is KernelBench's own method) against
the published mean, with the ratio. Usage: compare_timings.py verdicts.jsonl baseline_time_torch.json [N]
"""
import json
import statistics
import sys


def main() -> int:
    verdicts, baseline = sys.argv[1], sys.argv[2]
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    with open(baseline) as f:
        published = json.load(f)
    rows = []
    for line in open(verdicts):
        v = json.loads(line)
        if v.get("status") != "CORRECT" or not v.get("timing"):
            continue
        level, name = v["problemId"].split("/", 1)
        entry = published.get(level, {}).get(name + ".py")
        if not entry:
            continue
        ref = v["timing"]["reference"]
        rows.append((int(name.split("_")[0]), name, ref["meanMs"], ref.get("syncMedianMs"), entry["mean"]))
    rows.sort()
    ratios = []
    print(f"{'problem':<58} {'ours(mean)':>11} {'ours(stream)':>12} {'published':>10} {'ratio':>6}")
    for _, name, mean, stream, pub in rows[:limit]:
        ours = stream if stream else mean
        ratio = ours / pub
        ratios.append(ratio)
        flag = "" if 0.8 <= ratio <= 1.25 else "  <-- outside 0.8-1.25"
        print(f"{name:<58} {mean:>11.4f} {stream or 0:>12.4f} {pub:>10.4f} {ratio:>6.2f}{flag}")
    if ratios:
        print(f"median ratio {statistics.median(ratios):.3f} over {len(ratios)} problems; "
              f"{sum(1 for r in ratios if 0.8 <= r <= 1.25)} within 0.8-1.25")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The quiet baseline of `kfarm bench timing-fidelity`: each problem's reference timed KernelBench's way, alone.

One process, nothing else running, no sandbox and none of KernelFarm's harness: the Model on the device, seed
42, KernelBench's time_execution_with_cuda_event step for step: the device synchronised, fresh events, the L2
flushed by filling a fresh 256 MiB tensor (its clear_l2_cache), CUDA events recorded on the current stream
around the call with no synchronise between the fill and the start event, the device synchronised after the
end event; PyTorch's default flags. The wall clock on a CPU. Prints one JSON line per problem: {"name", "medianMs", "trials"}.
Usage: quiet_kernelbench.py PROBLEMS.jsonl NAME[,NAME...] TRIALS
"""
import json
import statistics
import sys
import time

import torch


def main() -> int:
    source, names, trials = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3])
    rows = {}
    with open(source) as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                rows[row["name"]] = row
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    for name in names:
        scope = {}
        exec(compile(rows[name]["code"], name, "exec"), scope)
        torch.manual_seed(42)
        init = [x.to(device) if isinstance(x, torch.Tensor) else x for x in scope["get_init_inputs"]()]
        torch.manual_seed(42)
        model = scope["Model"](*init).to(device)
        torch.manual_seed(42)
        inputs = [x.to(device) if isinstance(x, torch.Tensor) else x for x in scope["get_inputs"]()]
        samples = []
        with torch.no_grad():
            for _ in range(10):
                model(*inputs)
            if cuda:
                torch.cuda.synchronize(device)
            for _ in range(trials):
                if cuda:
                    torch.cuda.synchronize(device)
                    start = torch.cuda.Event(enable_timing=True)
                    end = torch.cuda.Event(enable_timing=True)
                    dummy = torch.empty((32, 1024, 1024), dtype=torch.int64, device=device)
                    dummy.fill_(42)
                    del dummy
                    start.record()
                    model(*inputs)
                    end.record()
                    torch.cuda.synchronize(device)
                    samples.append(start.elapsed_time(end))
                else:
                    began = time.perf_counter()
                    model(*inputs)
                    samples.append((time.perf_counter() - began) * 1000)
        print(json.dumps({"name": name, "medianMs": statistics.median(samples), "trials": trials}), flush=True)
        del model, inputs
        if cuda:
            torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# The GPU proof of the verifier, run on a GPU host from the repo root with the bundle and KernelBench data carried
# in .carry/ (deploy/bundle/prepare-carry.sh). Steps: smoke | bench | scaling | sweep | suite | campaign; logs go to
# $OUT.
#   smoke: one correct and one cheating CUDA candidate, to stop early if the host is not what we expect
#   bench: `kfarm bench verify-throughput` over bench/corpus/cuda-throughput (resumable with --state)
#   scaling: the same candidates on one GPU and on every GPU of the host, with the device of every verdict
#   sweep: every level-1 reference as its own candidate, plus reference timings vs KernelBench's H100_Modal
#   suite: the hand-written CUDA candidates and the CUDA adversarial suite
#   corpus: every candidate of bench/corpus and the adversarial suite (68), verified under KernelBench v0.1's rules
#     and again under main's, printed side by side with the strict status (deploy/bundle/rule_sets_table.py)
#   campaign: the closed loop on 3 level-1 problems, the LLM replayed from bench/replay/cuda-level1
#   fidelity: `kfarm bench timing-fidelity`, references from us to tens of ms, quiet vs the farm alone and loaded
#   cluster: a coordinator and a worker node as two JVMs from the bundle, the worker joining; a campaign with the
#     replayed CUDA answers; the worker drained (SIGTERM) mid-campaign and a second worker process on the same GPU
#     joining and finishing it; the verdicts say which worker judged each candidate
#   hostile: the sandbox-escape candidates (coordinator's verify/hostile) on the GPU between honest ones, then a look
#     at the host for anything that escaped
#   giant: level-1 references 19 and 21 at KernelBench's current sizes (6.4 GB tensors), each stage's time
set -uo pipefail
step=${1:?step}
deadline=${2:-0}
# Short stage limits: the suites hold a hanging kernel, and device time is scarce.
export KFARM_JAVA_OPTS="${KFARM_JAVA_OPTS:-} -Dkernelfarm.worker.stage-timeouts.correctness=45s"
root=$(pwd)
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
kb=$root/.carry/kernelbench
# KFARM_OPT: where the bundle is unpacked (a dry run on a CPU host unpacks it beside the checkout).
opt=${KFARM_OPT:-/opt}
if [ ! -x "$opt/kfarm/bin/kfarm" ]; then
  mkdir -p "$opt" && tar -C "$opt" -xJf .carry/kfarm-bundle.tar.xz
fi
kfarm=$opt/kfarm/bin/kfarm
export KFARM_WORK_DIR=/tmp/kfw KFARM_PYTHON=${KFARM_PYTHON:-$(command -v python3)} PYTHONUNBUFFERED=1
{
  date -u; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,temperature.gpu --format=csv
  python3 -c 'import torch, sys; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda)'
  nproc; which python3 nvcc ninja unshare
} > "$OUT/host.txt" 2>&1
case "$step" in
  smoke)
    mkdir -p /tmp/smoke && cp worker/src/test/resources/adversarial/cuda/{legit_relu,side_stream,tf32}.py \
      bench/corpus/cuda-handwritten/l1_88_newgelu_fused_float4.py /tmp/smoke/
    $kfarm verify --problems "$kb/level1.jsonl" --candidates /tmp/smoke --timing-trials 30 \
      --out "$OUT/smoke" 2>&1 | tee "$OUT/smoke.log"
    python3 deploy/bundle/check_expectations.py /tmp/smoke "$OUT/smoke/verdicts.jsonl" | tee -a "$OUT/smoke.log"
    ;;
  bench)
    # The one-at-a-time half outlasts one device call: its finished candidates come back in $OUT and, put in
    # .carry/kfbench-done.jsonl, seed the next call's state (its time is the sum of its candidates' anyway).
    if [ -f .carry/kfbench-done.jsonl ] && [ "$(wc -l < .carry/kfbench-done.jsonl)" -gt \
        "$(cat /tmp/kfbench/baseline/done.jsonl 2>/dev/null | wc -l)" ]; then
      mkdir -p /tmp/kfbench/baseline && cp .carry/kfbench-done.jsonl /tmp/kfbench/baseline/done.jsonl
    fi
    $kfarm bench verify-throughput --problems "$kb/level1.jsonl" --candidates bench/corpus/cuda-throughput \
      --state /tmp/kfbench --deadline "$deadline" --out "$OUT/bench" 2>&1 | tee -a "$OUT/bench.log"
    cp /tmp/kfbench/baseline/done.jsonl "$OUT/bench-baseline-done.jsonl" 2>/dev/null
    ;;
  scaling)
    # Multi-GPU hosts: the farm with one GPU and with all of them over cached builds (scaling COPIES, default 2:
    # 78 candidates, which keep every GPU busy and the call under 10 minutes).
    $kfarm bench verify-throughput --gpu-scaling --copies "${2:-2}" --problems "$kb/level1.jsonl" \
      --candidates bench/corpus/cuda-throughput 2>&1 | tee "$OUT/scaling.log" | grep -v '^\[' | tail -n 12
    ;;
  sweep)
    # sweep FIRST LAST: level-1 problems FIRST..LAST (by problem_id), so the sweep fits the per-call limit.
    first=${2:-1} last=${3:-100}
    rm -rf /tmp/refs1 && python3 deploy/bundle/refs_as_candidates.py "$kb/level1.jsonl" /tmp/refs1 "$first" "$last"
    $kfarm verify --problems "$kb/level1.jsonl" --candidates /tmp/refs1 --timing-trials 30 \
      --out "$OUT/sweep-$first-$last" 2>&1 | tee "$OUT/sweep-$first-$last.log" | tail -n 60
    python3 deploy/bundle/compare_timings.py "$OUT/sweep-$first-$last/verdicts.jsonl" \
      "$kb/timing/H100_Modal/baseline_time_torch.json" 20 | tee "$OUT/timings-$first-$last.txt"
    ;;
  campaign)
    $kfarm campaign --problems "$kb/level1.jsonl" --only 19_ReLU,21_Sigmoid,88_MinGPTNewGelu \
      --replay bench/replay/cuda-level1 --name gpu-campaign --branches 1 --rounds 3 --budget PT8M \
      --out "$OUT/campaign" 2>&1 | tee "$OUT/campaign.log" | grep -v '^\[' | tail -n 20
    ;;
  cluster)
    # CLUSTER_PROBLEMS, CLUSTER_ONLY, CLUSTER_REPLAY, CLUSTER_BACKEND: a dry run of the same steps on a CPU host
    # (examples/problems, the demo's recorded answers, the cpu backend).
    only=${CLUSTER_ONLY:-19_ReLU,21_Sigmoid,88_MinGPTNewGelu}
    # The three problems at 16M elements: this proves joining, draining and resuming, not 6.4 GB tensors (the
    # giant step times those). The coordinator-only node has no GPU, so the backend is named, never auto.
    if [ -z "${CLUSTER_PROBLEMS:-}" ]; then
      python3 deploy/bundle/shrink_problems.py "$kb/level1.jsonl" /tmp/cluster-problems.jsonl "$only"
    fi
    problems=${CLUSTER_PROBLEMS:-/tmp/cluster-problems.jsonl}
    replay=${CLUSTER_REPLAY:-bench/replay/cuda-level1} backend=${CLUSTER_BACKEND:-cuda}
    # DEBUG: the workers log joining, each verdict they report, draining (leases handed back) and leaving.
    KFARM_LOG_LEVEL=DEBUG $kfarm node --roles worker --port 25521 > "$OUT/worker-a.log" 2>&1 &
    worker_a=$!
    sleep 20
    $kfarm campaign --roles coordinator --join 127.0.0.1:25521 --port 25522 --problems "$problems" \
      --only "$only" --replay "$replay" --backend "$backend" --name gpu-cluster \
      --branches 2 --rounds 3 --budget PT8M --out "$OUT/cluster-campaign" > "$OUT/cluster-campaign.log" 2>&1 &
    campaign=$!
    # Drain the first worker once it has judged something: it stops pulling, finishes or hands back its leases.
    for _ in $(seq 1 120); do
      # The progress bar counts verdicts by status: "1/18  CORRECT 1 ..."
      grep -qE "^\[[#.]+\] [1-9][0-9]*/" "$OUT/cluster-campaign.log" 2>/dev/null && break
      kill -0 "$campaign" 2>/dev/null || { echo "the campaign exited early" | tee -a "$OUT/cluster-events.txt"; break; }
      sleep 2
    done
    date -u +"%T drain worker A" | tee -a "$OUT/cluster-events.txt"
    kill -TERM "$worker_a"
    wait "$worker_a"
    echo "worker A exited with $? (143: it ended on the SIGTERM, after its drain)" | tee -a "$OUT/cluster-events.txt"
    grep -E "draining|drained|leaving|removed" "$OUT/worker-a.log" | tee -a "$OUT/cluster-events.txt"
    date -u +"%T start worker B" | tee -a "$OUT/cluster-events.txt"
    KFARM_LOG_LEVEL=DEBUG $kfarm node --roles worker --join 127.0.0.1:25522 > "$OUT/worker-b.log" 2>&1 &
    worker_b=$!
    wait "$campaign"
    echo "campaign exited with $?" | tee -a "$OUT/cluster-events.txt"
    kill -TERM "$worker_b"; wait "$worker_b"
    tail -n 20 "$OUT/cluster-campaign.log"
    python3 -c 'import json,sys,collections; r=json.load(open(sys.argv[1])); print(collections.Counter(((p.get("best") or {}).get("device") or {}).get("nodeId") for p in r["problems"]))' \
      "$OUT/cluster-campaign/results.json" | tee -a "$OUT/cluster-events.txt"
    echo "verdicts reported by worker A: $(grep -c 'verdict reported' "$OUT/worker-a.log"), by worker B:" \
      "$(grep -c 'verdict reported' "$OUT/worker-b.log")" | tee -a "$OUT/cluster-events.txt"
    echo "harness processes left: $(pgrep -fc 'python3 -m harness' || true)" | tee -a "$OUT/cluster-events.txt"
    ;;
  giant)
    # KernelBench's current level-1 sizes (6.4 GB inputs and outputs): each reference judged against itself, with
    # the time of every stage, so a slow stage on real sizes shows.
    rm -rf /tmp/giant && python3 deploy/bundle/refs_as_candidates.py "$kb/level1.jsonl" /tmp/giant 19 21
    rm -f /tmp/giant/20_*.py
    # The default stage limits, not this script's short ones: whether real sizes fit them is the question.
    KFARM_JAVA_OPTS="$KFARM_JAVA_OPTS -Dkernelfarm.worker.stage-timeouts.correctness=120s" $kfarm verify --problems "$kb/level1.jsonl" --candidates /tmp/giant --out "$OUT/giant" 2>&1 \
      | tee "$OUT/giant.log" | tail -n 8
    python3 -c 'import json,sys
for l in open(sys.argv[1]):
    v=json.loads(l); v=v.get("verdict", v)
    print(v["problemId"], v["status"], v.get("stageMillis"), (v.get("timing") or {}).get("speedup"), v.get("summary","")[:200])' \
      "$OUT/giant/verdicts.jsonl" | tee "$OUT/giant-stages.txt"
    nvidia-smi --query-gpu=memory.used --format=csv | tee -a "$OUT/giant-stages.txt"
    ;;
  fidelity)
    $kfarm bench timing-fidelity --load-problems "$kb/level1.jsonl" --load-candidates bench/corpus/cuda-throughput \
      --out "$OUT/fidelity" 2>&1 | tee "$OUT/fidelity.log" | grep -v '^\[' | tail -n 40
    ;;
  hostile)
    rm -rf /tmp/hostile && mkdir -p /tmp/hostile
    cp coordinator/src/test/resources/verify/hostile/*.py coordinator/src/test/resources/verify/legit/secrets_invisible.py \
      coordinator/src/test/resources/verify/faults/wrong_values.py /tmp/hostile/
    rm /tmp/hostile/write_cache.py  # a C++ (CPU) extension: the cpu backend's test
    # The suite's scratch quota (fill_scratch writes 1 GiB, past this and within the default 4 GiB).
    KFARM_JAVA_OPTS="$KFARM_JAVA_OPTS -Dkernelfarm.worker.sandbox.scratch-bytes=268435456" \
      KFARM_LLM_API_KEY=sk-kfarm-test-secret $kfarm verify --problems coordinator/src/test/resources/verify/problems \
      --candidates /tmp/hostile --backend cuda --out "$OUT/hostile" 2>&1 | tee "$OUT/hostile.log" | tail -n 20
    python3 deploy/bundle/check_expectations.py /tmp/hostile "$OUT/hostile/verdicts.jsonl" | tee -a "$OUT/hostile.log"
    {
      echo "escape markers on the host (none expected):"
      find / -xdev -name kfarm-escape-marker -not -path '*/scratch/*' 2>/dev/null
      find /dev/shm /tmp -maxdepth 1 -name kfarm-escape-marker 2>/dev/null
      echo "leftover processes (none expected):"; pgrep -af 'sleep 3127'
      echo "secret in outputs or kept logs (none expected):"
      grep -rl 'sk-kfarm-test-secret' "$OUT/hostile" /tmp/kfw --exclude-dir=scratch 2>/dev/null
      echo "flood log size:"; ls -la /tmp/kfw/runs/*/harness.log | sort -k5 -n | tail -n 2
      echo "isolation of a verdict:"
      python3 -c 'import json,sys; print([json.loads(l).get("verdict", json.loads(l)).get("environment") for l in open(sys.argv[1])][-1])' "$OUT/hostile/verdicts.jsonl"
    } 2>&1 | tee "$OUT/hostile-host.txt"
    ;;
  corpus)
    cat "$kb"/level1.jsonl "$kb"/level2.jsonl > /tmp/levels12.jsonl
    mkdir -p /tmp/corpus && cp bench/corpus/cuda-handwritten/*.py bench/corpus/cuda-throughput/*.py \
      worker/src/test/resources/adversarial/cuda/*.py /tmp/corpus/
    for rules in v0.1 main; do
      $kfarm verify --problems /tmp/levels12.jsonl --candidates /tmp/corpus --kernelbench-rules "$rules" \
        --out "$OUT/corpus-$rules" 2>&1 | tee "$OUT/corpus-$rules.log" | tail -n 5
    done
    python3 deploy/bundle/rule_sets_table.py "$OUT/corpus-v0.1/verdicts.jsonl" "$OUT/corpus-main/verdicts.jsonl" \
      | tee "$OUT/rule-sets.txt"
    python3 deploy/bundle/check_expectations.py /tmp/corpus "$OUT/corpus-v0.1/verdicts.jsonl" \
      | tee "$OUT/corpus-expectations.txt" | tail -n 3
    ;;
  suite)
    cat "$kb"/level1.jsonl "$kb"/level2.jsonl > /tmp/levels12.jsonl
    $kfarm verify --problems /tmp/levels12.jsonl --candidates bench/corpus/cuda-handwritten --out "$OUT/handwritten" \
      2>&1 | tee "$OUT/handwritten.log" | tail -n 25
    $kfarm verify --problems /tmp/levels12.jsonl --candidates worker/src/test/resources/adversarial/cuda \
      --out "$OUT/adversarial" 2>&1 | tee "$OUT/adversarial.log" | tail -n 25
    python3 deploy/bundle/check_expectations.py bench/corpus/cuda-handwritten "$OUT/handwritten/verdicts.jsonl" \
      worker/src/test/resources/adversarial/cuda "$OUT/adversarial/verdicts.jsonl" | tee "$OUT/expectations.txt"
    rm -f "$OUT"/*/eval_results.json
    tar -czf "$OUT/runs.tgz" -C /tmp/kfw runs 2>/dev/null
    ;;
esac

#!/usr/bin/env bash
# Puts what a GPU run needs beside the repo, in .carry/ (ignored by git): the bundle and the KernelBench data,
# which must never be committed. Then name .carry in the device run's `carry`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$root/.carry/kernelbench/timing"
cp "$root"/deploy/bundle/out/kfarm-bundle.tar.xz "$root/.carry/"
cp "${KERNELBENCH_DATA:-$root/../shared/kernelbench}"/level*.jsonl "$root/.carry/kernelbench/"
cp -r "${KERNELBENCH_DATA:-$root/../shared/kernelbench}"/timing/H100_Modal "$root/.carry/kernelbench/timing/"
# The one-at-a-time half of `gpu-proof.sh bench` (49 minutes of an H100), measured once and resumed from here.
cp "$root/bench/results/verify-throughput-baseline-h100.jsonl" "$root/.carry/kfbench-done.jsonl"
du -sh "$root/.carry"

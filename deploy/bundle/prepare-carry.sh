#!/usr/bin/env bash
# Puts what a GPU run needs beside the repo, in .carry/ (ignored by git): the bundle and the KernelBench data,
# which must never be committed. Then name .carry in the device run's `carry`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$root/.carry/kernelbench/timing"
cp "$root"/deploy/bundle/out/kfarm-bundle.tar.xz "$root/.carry/"
cp "${KERNELBENCH_DATA:-$root/../shared/kernelbench}"/level*.jsonl "$root/.carry/kernelbench/"
cp -r "${KERNELBENCH_DATA:-$root/../shared/kernelbench}"/timing/H100_Modal "$root/.carry/kernelbench/timing/"
du -sh "$root/.carry"

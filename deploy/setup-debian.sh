#!/usr/bin/env bash
# Installs what KernelFarm needs on Debian 12 when it is missing: JDK 17 and Maven to build, and for the harness's
# cpu backend Python 3 with torch (Debian's python3-torch), ninja and g++ (C++ load_inline). GPU hosts bring their
# own CUDA torch and set KFARM_PYTHON. Does nothing when everything is there.
set -euo pipefail
quiet=${1:-}
need=()
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
command -v ninja >/dev/null 2>&1 || need+=(ninja-build)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
if ! /usr/bin/python3 -c 'import torch' >/dev/null 2>&1 && ! python3 -c 'import torch' >/dev/null 2>&1; then
  need+=(python3-torch)
fi
# C++ extensions (load_inline) compile against Python.h.
compgen -G "/usr/include/python3*/Python.h" >/dev/null || need+=(python3-dev)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "kfarm: missing ${need[*]}; install them (Debian: apt-get install ${need[*]})" >&2
  exit 1
fi
[ "$quiet" = "--quiet" ] && echo "kfarm: installing ${need[*]} ..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${need[@]}" >&2

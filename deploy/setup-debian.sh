#!/usr/bin/env bash
# Installs what KernelFarm needs on Debian 12 when it is missing: JDK 17 and Maven to build; for the harness's
# cpu backend Python 3 with torch (Debian's python3-torch), torch's C++ headers (libtorch-dev: python3-torch alone
# has no torch/extension.h, so every C++ load_inline candidate would fail to build), ninja and g++; bubblewrap,
# the sandbox every candidate runs in. With --tests, also chromium and chromium-driver for the dashboard's browser
# test and prometheus for promtool (run-tests passes it; kfarm does not, so running the farm never pulls in a
# browser). GPU hosts bring their
# own CUDA torch and set KFARM_PYTHON. Does nothing when everything is there.
set -euo pipefail
quiet=
tests=
for arg in "$@"; do
  case "$arg" in
    --quiet) quiet=--quiet ;;
    --tests) tests=--tests ;;
    *) echo "setup-debian.sh: unknown option $arg (use --quiet, --tests)" >&2; exit 2 ;;
  esac
done
need=()
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
command -v ninja >/dev/null 2>&1 || need+=(ninja-build)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
if ! /usr/bin/python3 -c 'import torch' >/dev/null 2>&1 && ! python3 -c 'import torch' >/dev/null 2>&1; then
  need+=(python3-torch)
fi
# Debian splits torch's C++ headers out of python3-torch (libtorch-dev), and the pybind11 headers they include out
# again (pybind11-dev, not a dependency of libtorch-dev): without both, every C++ load_inline build fails.
if [ -d /usr/lib/python3/dist-packages/torch ] || [[ " ${need[*]} " == *" python3-torch "* ]]; then
  [ -e /usr/include/torch/extension.h ] || need+=(libtorch-dev)
  [ -e /usr/include/pybind11/pybind11.h ] || need+=(pybind11-dev)
fi
# C++ extensions (load_inline) compile against Python.h.
compgen -G "/usr/include/python3*/Python.h" >/dev/null || need+=(python3-dev)
# The dashboard's browser test drives a real headless Chromium through chromedriver (Selenium); Debian's own
# packages, so no browser or driver is downloaded at test time.
if [ "$tests" = "--tests" ]; then
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
  # promtool checks deploy/prometheus's scrape config (GrafanaDashboardTest), so the test runs rather than skips.
  command -v promtool >/dev/null 2>&1 || need+=(prometheus)
fi
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

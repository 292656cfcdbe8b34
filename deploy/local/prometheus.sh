#!/usr/bin/env bash
# Starts Prometheus beside a local KernelFarm node, scraping its /metrics with deploy/prometheus/prometheus.yml,
# and the workers' /metrics that deploy/local/cluster.sh lists in kfarm-workers.json (in the data folder below, as
# they start and stop), and prints where its UI is. `prometheus.sh stop` stops the one this script started (by its
# pid file).
# Debian 12 provides Prometheus (installed here when missing, as root), not Grafana: import
# deploy/grafana/kernelfarm.json into a Grafana of your own, with this Prometheus as its data source.
#
#   KFARM_HTTP_PORT         the node's API port (default 8480), where /metrics is served
#   KFARM_PROMETHEUS_PORT   Prometheus's own port (default 9090)
#   KFARM_PROMETHEUS_DATA   its config copy, TSDB, log and pid file (default kfarm-results/prometheus in the repo,
#                           where cluster.sh writes the workers' targets)
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
data=${KFARM_PROMETHEUS_DATA:-$here/kfarm-results/prometheus}
port=${KFARM_PROMETHEUS_PORT:-9090}
target="127.0.0.1:${KFARM_HTTP_PORT:-8480}"
mkdir -p "$data"
pidfile="$data/prometheus.pid"

if [ "${1:-start}" = "stop" ]; then
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    kill "$(cat "$pidfile")"
    echo "kfarm: stopped Prometheus (pid $(cat "$pidfile"))"
  fi
  rm -f "$pidfile"
  exit 0
fi

if ! command -v prometheus >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "kfarm: Prometheus is not installed; on Debian: apt-get install prometheus" >&2
    exit 1
  fi
  echo "kfarm: installing prometheus ..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends prometheus >&2
fi
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "kfarm: Prometheus is already running (pid $(cat "$pidfile")): http://127.0.0.1:$port"
  exit 0
fi

# The shipped config scrapes the default port; a local node on another port gets a copy that points at it.
sed "s/127\.0\.0\.1:8480/$target/" "$here/deploy/prometheus/prometheus.yml" > "$data/prometheus.yml"
# No workers yet (a single node, or cluster.sh not started): an empty target list rather than a missing file.
[ -f "$data/kfarm-workers.json" ] || echo '[]' > "$data/kfarm-workers.json"
# Loopback only, like the node's API; the TSDB stays with the node's other results.
nohup prometheus --config.file="$data/prometheus.yml" --storage.tsdb.path="$data/tsdb" \
  --web.listen-address="127.0.0.1:$port" > "$data/prometheus.log" 2>&1 &
echo $! > "$pidfile"
for _ in $(seq 1 30); do
  if curl -fs "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1; then
    echo "kfarm: Prometheus scrapes $target/metrics; its UI: http://127.0.0.1:$port (log: $data/prometheus.log)"
    exit 0
  fi
  kill -0 "$(cat "$pidfile")" 2>/dev/null || break
  sleep 1
done
echo "kfarm: Prometheus did not come up; see $data/prometheus.log" >&2
exit 1

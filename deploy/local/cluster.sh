#!/usr/bin/env bash
# A local multi-node KernelFarm on this host: PostgreSQL (postgres.sh), one coordinator node (cluster port 25520,
# API, dashboard and /metrics on 8480) and N worker nodes joining it, each a JVM of its own with its own work folder
# and /metrics on its own port (worker-N on 9480+N). Logs and pids go under kfarm-results/local-cluster/; the
# workers' metrics addresses go where deploy/local/prometheus.sh's Prometheus reads them (kfarm-workers.json).
#   deploy/local/cluster.sh start [WORKERS]   start the cluster (default 2 workers)
#   deploy/local/cluster.sh add               one more worker, joining the running cluster
#   deploy/local/cluster.sh stop              stop every node (SIGTERM: workers drain, then the coordinator)
#   deploy/local/cluster.sh status            which nodes run
# The coordinator reads the LLM endpoint from KFARM_LLM_BASE_URL, KFARM_LLM_MODEL and KFARM_LLM_API_KEY, as
# `kfarm node` does. Submit campaigns with the API (README) or `kfarm campaign ... --join 127.0.0.1:25520`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
run=$root/kfarm-results/local-cluster
mkdir -p "$run"
port=${KFARM_CLUSTER_PORT:-25520}
# Worker N serves /metrics on metrics_base+N: fixed per name, so a restarted worker keeps its Prometheus target.
metrics_base=${KFARM_WORKER_METRICS_BASE:-9480}
prometheus_data=${KFARM_PROMETHEUS_DATA:-$root/kfarm-results/prometheus}

start_node() {  # name, then kfarm node arguments
  local name=$1
  shift
  if [ -f "$run/$name.pid" ] && kill -0 "$(cat "$run/$name.pid")" 2>/dev/null; then
    echo "$name already runs (pid $(cat "$run/$name.pid"))"
    return
  fi
  KFARM_WORK_DIR=$run/$name-work setsid nohup "$root/kfarm" node "$@" >"$run/$name.log" 2>&1 </dev/null &
  echo $! >"$run/$name.pid"
  for _ in $(seq 1 120); do
    grep -q "kfarm node .* up" "$run/$name.log" 2>/dev/null && break
    if ! kill -0 "$(cat "$run/$name.pid")" 2>/dev/null; then
      echo "$name failed to start; its log:" >&2
      tail -n 20 "$run/$name.log" >&2
      exit 1
    fi
    sleep 1
  done
  grep "kfarm node .* up" "$run/$name.log" || { echo "$name: not up after 120 s ($run/$name.log)" >&2; exit 1; }
}

next_worker() {
  local n=1
  while [ -f "$run/worker-$n.pid" ] && kill -0 "$(cat "$run/worker-$n.pid")" 2>/dev/null; do
    n=$((n + 1))
  done
  echo "worker-$n"
}

start_worker() {
  local name=$1
  KFARM_METRICS_PORT=$((metrics_base + ${name#worker-})) \
    start_node "$name" --roles worker --join "127.0.0.1:$port" --port 0
  scrape_targets
}

# Prometheus's file discovery for the running workers (deploy/prometheus/prometheus.yml, job kernelfarm-workers).
scrape_targets() {
  local targets="" pidfile name
  for pidfile in "$run"/worker-*.pid; do
    [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null || continue
    name=$(basename "$pidfile" .pid)
    targets="$targets${targets:+, }\"127.0.0.1:$((metrics_base + ${name#worker-}))\""
  done
  mkdir -p "$prometheus_data"
  # Written whole and renamed, so Prometheus never reads half a file.
  echo "[{\"targets\": [$targets], \"labels\": {\"cluster\": \"local\"}}]" >"$prometheus_data/kfarm-workers.json.new"
  mv "$prometheus_data/kfarm-workers.json.new" "$prometheus_data/kfarm-workers.json"
}

stop_node() {
  local pidfile=$1 pid
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    echo "stopped $(basename "$pidfile" .pid)"
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  start)
    workers=${2:-2}
    url=$("$root/deploy/local/postgres.sh" kfarm_local --keep)
    if [ -z "$url" ]; then
      echo "PostgreSQL could not be started here (needs root and apt); the coordinator keeps its store in H2" >&2
    else
      export KFARM_STORE_URL=$url KFARM_STORE_USER=kfarm KFARM_STORE_PASSWORD=kfarm
    fi
    start_node coordinator --roles coordinator --port "$port"
    for _ in $(seq 1 "$workers"); do
      start_worker "$(next_worker)"
    done
    ;;
  add)
    start_worker "$(next_worker)"
    ;;
  stop)
    for pidfile in "$run"/worker-*.pid; do [ -f "$pidfile" ] && stop_node "$pidfile"; done
    scrape_targets
    [ -f "$run/coordinator.pid" ] && stop_node "$run/coordinator.pid"
    ;;
  status)
    for pidfile in "$run"/*.pid; do
      [ -f "$pidfile" ] || continue
      pid=$(cat "$pidfile")
      state=stopped
      kill -0 "$pid" 2>/dev/null && state="running (pid $pid)"
      name=$(basename "$pidfile" .pid)
      case $name in
        worker-*) state="$state, metrics http://127.0.0.1:$((metrics_base + ${name#worker-}))/metrics" ;;
      esac
      echo "$name: $state"
    done
    ;;
  *)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac

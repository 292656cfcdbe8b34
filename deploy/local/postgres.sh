#!/usr/bin/env bash
# Starts a local PostgreSQL (Debian 12, as root): installs it when missing, starts the server, and creates the
# database (default kfarm_test, fresh each time, for the cluster-store tests; with --keep an existing one stays, for
# deploy/local/cluster.sh) owned by role kfarm. Prints the JDBC URL on stdout; prints nothing and exits 0 where it
# cannot run (not root, no apt), so the PostgreSQL tests are then skipped.
#   usage: postgres.sh [DATABASE] [--keep]
set -euo pipefail
db=kfarm_test
keep=no
for arg in "$@"; do
  case $arg in
    --keep) keep=yes ;;
    *) db=$arg ;;
  esac
done
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  exit 0
fi
if ! compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null; then
  echo "kfarm: installing postgresql ..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql >&2
fi
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h 2>/dev/null | grep -q online; then
  pg_lsclusters -h | grep -q . || pg_createcluster "$version" main >&2
  pg_ctlcluster "$version" main start >&2
fi
for _ in $(seq 1 30); do
  su postgres -c "psql -qtAc 'select 1'" >/dev/null 2>&1 && break
  sleep 1
done
su postgres -c "psql -qtA" >&2 <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'kfarm') THEN CREATE ROLE kfarm LOGIN PASSWORD 'kfarm'; END IF;
END $$;
SQL
if [ "$keep" = no ]; then
  su postgres -c "psql -qtA -c 'DROP DATABASE IF EXISTS $db'" >&2
fi
if ! su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname = '$db'\"" | grep -q 1; then
  su postgres -c "psql -qtA -c 'CREATE DATABASE $db OWNER kfarm'" >&2
fi
port=$(pg_lsclusters -h | awk '$4 == "online" {print $3; exit}')
echo "jdbc:postgresql://127.0.0.1:${port:-5432}/$db"

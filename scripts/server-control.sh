#!/usr/bin/env bash
# scripts/server-control.sh — stop or start one local test server, for the
# fault tests (a server goes away mid-workload and comes back).
#
#   bash scripts/server-control.sh stop  postgres|redis   (redis saves a snapshot first, as a persistent server would)
#   bash scripts/server-control.sh start postgres|redis   (through services.sh: starts and waits until it answers)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

action="${1:-}"; server="${2:-}"
die() { printf '[server-control] ERROR: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"; else die "need root to run: $*"; fi
}

case "$action:$server" in
  stop:postgres)
    ver="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)"
    [ -n "$ver" ] || die "no PostgreSQL cluster found"
    as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main stop -m fast
    ;;
  stop:redis)
    # The test server runs without persistence; an outage must not also be a
    # data loss, so save a snapshot where services.sh's redis-server loads it.
    as_root install -d -m 0755 /var/lib/redis
    redis-cli -h 127.0.0.1 -p 6379 config set dir /var/lib/redis >/dev/null
    redis-cli -h 127.0.0.1 -p 6379 config set dbfilename dump.rdb >/dev/null
    redis-cli -h 127.0.0.1 -p 6379 shutdown save >/dev/null 2>&1 || true
    for _ in $(seq 1 50); do
      redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || exit 0
      sleep 0.1
    done
    die "redis still answers after shutdown"
    ;;
  start:postgres)
    WASTORE_SERVICES="$server" bash scripts/services.sh
    ;;
  start:redis)
    WASTORE_SERVICES="$server" bash scripts/services.sh
    # Loaded: drop the snapshot so a later cold start begins empty again.
    as_root rm -f /var/lib/redis/dump.rdb
    ;;
  *) die "usage: server-control.sh stop|start postgres|redis" ;;
esac

#!/usr/bin/env bash
# Stop the local stack started by start.sh. Idempotent: never fails because
# something is already stopped. Data stays in STATE_DIR (start.sh wipes it).
# Usage: scripts/stack/stop.sh STATE_DIR
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/stack/lib.sh
source "$SCRIPT_DIR/lib.sh"

[[ $# -eq 1 && -n "$1" ]] || die "usage: $0 STATE_DIR"
if [[ ! -d "$1" ]]; then
  log "$1 does not exist; nothing to stop"
  exit 0
fi
STATE_DIR="$(cd "$1" && pwd -P)"

stop_pid_file spire-agent "run -config" "$STATE_DIR/spire-agent.pid"
stop_pid_file spire-server "run -config" "$STATE_DIR/spire-server.pid"
stop_pid_file opa "run --server" "$STATE_DIR/opa.pid"
# -dev (test stack) or -config= (durable stack, PDP_STACK_DURABLE=1)
stop_pid_file bao "bao server -" "$STATE_DIR/bao.pid"

# PostgreSQL: pg_ctl stop -m fast as the postgres user; kill as a fallback.
PGDATA_DIR="$STATE_DIR/pg/data"
if [[ -s "$STATE_DIR/pgroot" ]]; then
  # Cluster outside STATE_DIR (see start.sh): use the real path, since the
  # postgres user may not be able to traverse STATE_DIR.
  PGDATA_DIR="$(cat "$STATE_DIR/pgroot")/data"
fi
if [[ -f "$PGDATA_DIR/postmaster.pid" ]]; then
  PG_BIN="$(cat "$STATE_DIR/pg_bin" 2>/dev/null || true)"
  [[ -x "$PG_BIN/pg_ctl" ]] || PG_BIN="$(find_pg_bindir)"
  pgpid="$(head -n 1 "$PGDATA_DIR/postmaster.pid" 2>/dev/null || true)"
  if pid_matches "$pgpid" "postgres"; then
    log "stopping PostgreSQL (pid $pgpid)"
    if [[ -z "$PG_BIN" ]] || ! as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t 30 stop >/dev/null 2>&1; then
      log "pg_ctl stop failed; signalling postgres directly"
      kill -INT "$pgpid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do
        kill -0 "$pgpid" 2>/dev/null || break
        sleep 0.3
      done
      kill -KILL "$pgpid" 2>/dev/null || true
    fi
  fi
fi
rm -f "$STATE_DIR/postgres.pid"
log "stack in $STATE_DIR stopped"

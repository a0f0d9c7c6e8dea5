#!/usr/bin/env bash
# Stop what scripts/demo/run.sh started: the PDP (by its pid file) and the local stack.
# Idempotent. Env: PDP_RUN_DIR (default <repo>/.run-state/run). Keeps the demo signing key.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
RUN_DIR="${PDP_RUN_DIR:-$REPO_ROOT/.run-state/run}"

log() { printf '[run] %s\n' "$*" >&2; }

if [[ ! -d "$RUN_DIR" ]]; then
  exit 0
fi

PID_FILE="$RUN_DIR/pdp.pid"
if [[ -s "$PID_FILE" ]]; then
  pid="$(cat "$PID_FILE")"
  # Only a process that is still our PDP (the pid may have been reused).
  if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
      && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF agent-pdp.jar; then
    log "stopping the PDP (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.3
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "the PDP did not exit; sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$PID_FILE"
fi

if [[ -d "$RUN_DIR/stack" ]]; then
  "$REPO_ROOT/scripts/stack/stop.sh" "$RUN_DIR/stack"
fi

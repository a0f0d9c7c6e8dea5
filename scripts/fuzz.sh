#!/usr/bin/env bash
# API fuzzing from openapi.yaml with schemathesis against a real PDP on the real stack.
# Fails on any 5xx, any response that violates the contract, and any auth bypass (ignored_auth).
#
# Usage: scripts/fuzz.sh STACK_STATE_DIR   (a stack started by scripts/stack/start.sh)
# Env:   FUZZ_MAX_EXAMPLES (default 40 per operation)
# schemathesis (pinned in scripts/stack/lib.sh) comes from the project venv that make deps installs.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
stack="${1:?usage: scripts/fuzz.sh STACK_STATE_DIR}"
work="$stack/fuzz"
rm -rf "$work" && mkdir -p "$work"

# shellcheck source=scripts/stack/lib.sh
source "$root/scripts/stack/lib.sh"
schemathesis="$(find_schemathesis)"
[[ -n "$schemathesis" ]] || die "schemathesis $STACK_SCHEMATHESIS_VERSION not found in $TOOLS_VENV; run: make deps"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
[[ -f "$root/target/agent-pdp.jar" ]] || (cd "$root" && ./mvnw -B -q -DskipTests package)

set -a; . "$stack/env"; set +a
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port="$(free_port)"; mport="$(free_port)"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/jwt.key" 2>/dev/null
openssl pkey -in "$work/jwt.key" -pubout -out "$work/jwt.pub"

# One fuzzing caller sends far more than the per-caller API limit allows; 429s would hide the handlers.
SERVER_ADDRESS=127.0.0.1 SERVER_PORT="$port" MANAGEMENT_SERVER_ADDRESS=127.0.0.1 MANAGEMENT_SERVER_PORT="$mport" \
PDP_API_LIMITS_CALLER_PER_SECOND=1000000 PDP_API_LIMITS_CALLER_BURST=1000000 \
PDP_API_LIMITS_TENANT_PER_SECOND=1000000 PDP_API_LIMITS_TENANT_BURST=1000000 \
SPRING_SECURITY_OAUTH2_RESOURCESERVER_JWT_PUBLIC_KEY_LOCATION="file:$work/jwt.pub" \
SPRING_SECURITY_OAUTH2_RESOURCESERVER_JWT_AUDIENCES=agent-pdp \
PDP_SECURITY_ISSUER=agent-pdp-demo \
  "$JAVA_HOME/bin/java" -jar "$root/target/agent-pdp.jar" > "$work/pdp.log" 2>&1 &
pdp=$!
trap 'kill "$pdp" 2>/dev/null || true; wait "$pdp" 2>/dev/null || true' EXIT

for _ in $(seq 1 120); do
  curl -fs "http://127.0.0.1:$mport/actuator/health/readiness" > /dev/null 2>&1 && break
  kill -0 "$pdp" 2>/dev/null || { tail -50 "$work/pdp.log"; echo "fuzz: the PDP did not start" >&2; exit 1; }
  sleep 0.5
done

# A token that holds every scope, so that authorisation never hides what the handlers do with input.
token="$("$root/scripts/demo/mint-jwt.sh" "$work/jwt.key" fuzzer fuzz "decide approver security-admin registry-admin" 3600)"

# positive_data_acceptance is excluded: a schema-valid body naming another tenant must be refused (403);
# that refusal is the tenant boundary, not a defect. Every other check runs.
"$schemathesis" run "$root/openapi.yaml" \
  --url "http://127.0.0.1:$port" \
  --header "Authorization: Bearer $token" \
  --checks all --exclude-checks positive_data_acceptance \
  --max-examples "${FUZZ_MAX_EXAMPLES:-40}" \
  --generation-deterministic \
  --report junit --report-junit-path "$work/schemathesis-junit.xml" \
  --no-color
status=$?
if grep -E '"log":\{"level":"ERROR"' "$work/pdp.log" > /dev/null; then
  echo "fuzz: the PDP logged errors during fuzzing:" >&2
  grep -E '"log":\{"level":"ERROR"' "$work/pdp.log" | head -5 >&2
  exit 1
fi
exit "$status"

#!/usr/bin/env bash
# The Python SDK and MCP guard tests (clients/python): unit tests plus integration tests in which a real
# MCP client talks to agent-pdp-guard, which talks to a real FastMCP upstream and to the real PDP jar on the
# real stack (OPA, OpenBao, PostgreSQL). Prints pytest's summary line; fails when pytest fails.
#
# Usage: scripts/python-sdk-test.sh STACK_STATE_DIR [PYTEST_ARGS...]   (a stack started by scripts/stack/start.sh)
# Needs target/agent-pdp.jar (built if missing) and the project venv with clients/python (make deps).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
stack="${1:?usage: scripts/python-sdk-test.sh STACK_STATE_DIR [PYTEST_ARGS...]}"
shift
stack="$(cd "$stack" && pwd)"
work="$stack/python-sdk"
rm -rf "$work" && mkdir -p "$work"

# shellcheck source=scripts/stack/lib.sh
source "$root/scripts/stack/lib.sh"
py="$TOOLS_VENV/bin/python3"
# This checkout's SDK and guard, whichever checkout the shared venv's editable install points at (worktrees share
# .tools); the guard processes the tests start inherit it.
export PYTHONPATH="$root/clients/python/src${PYTHONPATH:+:$PYTHONPATH}"
"$py" -c 'import agent_pdp, pytest, fastmcp' 2>/dev/null || die "clients/python is not installed in $TOOLS_VENV; run: make deps"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
[[ -f "$root/target/agent-pdp.jar" ]] || (cd "$root" && ./mvnw -B -q -DskipTests package)

set -a; . "$stack/env"; set +a
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port="$(free_port)"; mport="$(free_port)"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/jwt.key" 2>/dev/null
openssl pkey -in "$work/jwt.key" -pubout -out "$work/jwt.pub"

# Only what the PDP needs: no root token, unseal key or AppRole secrets in its environment.
env -u PDP_VAULT_ROOT_TOKEN -u PDP_VAULT_UNSEAL_KEY -u PDP_VAULT_APPROLE_ROLE_ID -u PDP_VAULT_APPROLE_SECRET_ID \
  SERVER_ADDRESS=127.0.0.1 SERVER_PORT="$port" MANAGEMENT_SERVER_ADDRESS=127.0.0.1 MANAGEMENT_SERVER_PORT="$mport" \
  SPRING_SECURITY_OAUTH2_RESOURCESERVER_JWT_PUBLIC_KEY_LOCATION="file:$work/jwt.pub" \
  SPRING_SECURITY_OAUTH2_RESOURCESERVER_JWT_AUDIENCES=agent-pdp \
  PDP_SECURITY_ISSUER=agent-pdp-demo \
  "$JAVA_HOME/bin/java" -jar "$root/target/agent-pdp.jar" \
  "--spring.flyway.placeholders.app_role=$SPRING_DATASOURCE_USERNAME" > "$work/pdp.log" 2>&1 &
pdp=$!
echo "$pdp" > "$work/pdp.pid"
trap 'kill "$pdp" 2>/dev/null || true; wait "$pdp" 2>/dev/null || true' EXIT

for _ in $(seq 1 240); do
  curl -fs "http://127.0.0.1:$mport/actuator/health/readiness" > /dev/null 2>&1 && break
  kill -0 "$pdp" 2>/dev/null || { tail -50 "$work/pdp.log"; die "python-sdk-test: the PDP did not start"; }
  sleep 0.5
done
curl -fs "http://127.0.0.1:$mport/actuator/health/readiness" > /dev/null || die "python-sdk-test: the PDP is not ready"

# What the integration fixtures need (tests/integration/conftest.py); seeding happens there.
export AGENT_PDP_TEST_URL="http://127.0.0.1:$port"
export AGENT_PDP_TEST_JWT_KEY="$work/jwt.key"
export AGENT_PDP_TEST_MINT_JWT="$root/scripts/demo/mint-jwt.sh"
export AGENT_PDP_TEST_WORK="$work"
export AGENT_PDP_TEST_STACK="$stack"   # tenants are onboarded in its OpenBao (scripts/stack/tenant-layout.sh)

set +e
(cd "$root/clients/python" && "$py" -m pytest -p no:cacheprovider -q -rfE --junitxml="$work/pytest-junit.xml" \
   "$@" 2>&1) | tee "$work/pytest.log" | grep -vE '^\s*$' | tail -n 60
status=${PIPESTATUS[0]}
set -e
summary="$(grep -E '^(=+ )?[0-9]+ (passed|failed)|no tests ran|error' "$work/pytest.log" | tail -n 1 || true)"
echo "python-sdk-test: ${summary:-no pytest summary (see $work/pytest.log)}"
exit "$status"

#!/usr/bin/env bash
# Run agent-pdp locally for a demo: the local stack (OPA, OpenBao dev, PostgreSQL), the PDP jar,
# a demo tenant, then print curl examples that work against it.
#
# Usage: scripts/demo/run.sh [--detach]
#   default   stays in the foreground until the PDP exits; Ctrl-C stops the PDP and the stack
#   --detach  returns once everything is up; stop it later with scripts/demo/stop.sh (make stop)
#
# Expects target/agent-pdp.jar (`make run` builds it) and JAVA_HOME pointing at a JDK 25.
# Env: PDP_RUN_DIR          state directory (default <repo>/.run-state/run)
#      PDP_HTTP_PORT        API port (default 8080)
#      PDP_MANAGEMENT_PORT  actuator port (default 8081)
#      PDP_READY_TIMEOUT    seconds to wait for readiness (default 180)
#      PDP_JAVA_OPTS        extra JVM options
#
# Everything binds 127.0.0.1 only (API, management port, OPA, OpenBao, PostgreSQL).
# The MCP guard demo: clients/python/examples/crm_server.py (FastMCP) on PDP_DEMO_TOOLS_PORT (default 8766)
# behind agent-pdp-guard on PDP_GUARD_PORT (default 8765; another free port if taken), config guard.yaml.
# PDP_RUN_DIR holds: jwt-private.pem / jwt-public.pem (generated once and kept), demo-decide.jwt and
# demo-registry-admin.jwt (re-minted on every start), examples.sh (the curl examples printed at the end, with the real token
# path, wrapped credential and decision id filled in; scripts/demo/check-examples.sh runs them
# verbatim), pdp.log, pdp.pid, and stack/ (scripts/stack state; wiped on every start).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"

log() { printf '[run] %s\n' "$*" >&2; }
die() { printf '[run] ERROR: %s\n' "$*" >&2; exit 1; }

DETACH=0
case "${1:-}" in
  "") ;;
  --detach) DETACH=1 ;;
  *) die "usage: $0 [--detach]" ;;
esac

RUN_DIR="${PDP_RUN_DIR:-$REPO_ROOT/.run-state/run}"
mkdir -p "$RUN_DIR"
RUN_DIR="$(cd "$RUN_DIR" && pwd)"
STACK_DIR="$RUN_DIR/stack"
HTTP_PORT="${PDP_HTTP_PORT:-8080}"
MGMT_PORT="${PDP_MANAGEMENT_PORT:-8081}"
READY_TIMEOUT="${PDP_READY_TIMEOUT:-180}"
JAR="$REPO_ROOT/target/agent-pdp.jar"
PRIVATE_KEY="$RUN_DIR/jwt-private.pem"
PUBLIC_KEY="$RUN_DIR/jwt-public.pem"
TOKEN_FILE="$RUN_DIR/demo-decide.jwt"
ADMIN_TOKEN_FILE="$RUN_DIR/demo-registry-admin.jwt"
PDP_LOG="$RUN_DIR/pdp.log"
PID_FILE="$RUN_DIR/pdp.pid"
API="http://127.0.0.1:$HTTP_PORT"
READINESS="http://127.0.0.1:$MGMT_PORT/actuator/health/readiness"

# --- preconditions ----------------------------------------------------------------------------
JAVA="${JAVA_HOME:-}/bin/java"
[[ -n "${JAVA_HOME:-}" && -x "$JAVA" ]] || die "JAVA_HOME must point at a JDK 25 (make run sets it)"
"$JAVA" -version 2>&1 | grep -q 'version "25' || die "$JAVA is not Java 25"
[[ -f "$JAR" ]] || die "$JAR not found; build it first (make run does: ./mvnw -B -DskipTests package)"
for tool in curl openssl python3; do command -v "$tool" >/dev/null 2>&1 || die "$tool not found"; done

if [[ -s "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null \
    && tr '\0' ' ' <"/proc/$(cat "$PID_FILE")/cmdline" 2>/dev/null | grep -qF agent-pdp.jar; then
  die "a demo PDP is already running (pid $(cat "$PID_FILE")); stop it with: make stop"
fi
port_free() {
  python3 -c 'import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try: s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError: sys.exit(1)' "$1"
}
for port in "$HTTP_PORT" "$MGMT_PORT"; do
  port_free "$port" || die "port $port is in use; free it or set PDP_HTTP_PORT / PDP_MANAGEMENT_PORT"
done

# --- stop everything on failure or Ctrl-C (not after a successful --detach) -------------------
# A signal handler first ignores further signals (make re-sends SIGTERM to its children), so that
# a second signal cannot cut the cleanup short.
# shellcheck disable=SC2317  # invoked by traps
cleanup() {
  local rc=$?
  trap '' INT TERM HUP
  trap - EXIT
  log "stopping the PDP and the stack"
  PDP_RUN_DIR="$RUN_DIR" "$SCRIPT_DIR/stop.sh" || true
  exit "$rc"
}
# shellcheck disable=SC2317  # invoked by traps
on_signal() {
  trap '' INT TERM HUP
  exit "$1"
}
trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
trap 'on_signal 129' HUP

# --- demo signing key (once) ------------------------------------------------------------------
if [[ ! -s "$PRIVATE_KEY" || ! -s "$PUBLIC_KEY" ]]; then
  log "generating the demo JWT signing key in $RUN_DIR"
  (umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$PRIVATE_KEY" 2>/dev/null)
  openssl pkey -in "$PRIVATE_KEY" -pubout -out "$PUBLIC_KEY"
fi

# --- stack --------------------------------------------------------------------------------------
log "starting OPA, OpenBao, PostgreSQL and SPIRE (scripts/stack/start.sh $STACK_DIR)"
"$REPO_ROOT/scripts/stack/start.sh" "$STACK_DIR"
# shellcheck source=/dev/null
source "$STACK_DIR/env"

# agent-7's workload identity: a JWT-SVID from the local SPIRE agent's Workload API (this uid is registered as
# spiffe://<trust domain>/agents/agent-7, which scripts/demo/registry.yaml binds to agent-7). SVIDs live 5 minutes.
# report-bot's likewise (spiffe://<trust domain>/agents/report-bot).
DEMO_SPIFFE_ID="spiffe://$PDP_IDENTITY_TRUST_DOMAIN/agents/agent-7"
REPORT_SPIFFE_ID="spiffe://$PDP_IDENTITY_TRUST_DOMAIN/agents/report-bot"
svid_cmd() { # SPIFFE_ID -> the command that prints its JWT-SVID, as the examples show it
  printf '%s' "$(printf '%q' "$PDP_SPIRE_AGENT_BIN") api fetch jwt -socketPath $(printf '%q' "$PDP_SPIFFE_SOCKET") -audience $PDP_IDENTITY_AUDIENCE -spiffeID $1 | awk 'NR == 2 {print \$1}'"
}
SVID_CMD="$(svid_cmd "$DEMO_SPIFFE_ID")"
REPORT_SVID_CMD="$(svid_cmd "$REPORT_SPIFFE_ID")"
svid() { # [SPIFFE_ID] (default agent-7's) -> a fresh JWT-SVID
  "$PDP_SPIRE_AGENT_BIN" api fetch jwt -socketPath "$PDP_SPIFFE_SOCKET" -audience "$PDP_IDENTITY_AUDIENCE" \
    -spiffeID "${1:-$DEMO_SPIFFE_ID}" | awk 'NR == 2 {print $1}'; }
[[ "$(svid)" == ey* ]] || die "the SPIRE agent issued no JWT-SVID for $DEMO_SPIFFE_ID"
[[ "$(svid "$REPORT_SPIFFE_ID")" == ey* ]] || die "the SPIRE agent issued no JWT-SVID for $REPORT_SPIFFE_ID"

# --- PDP ----------------------------------------------------------------------------------------
log "starting the PDP on $API (log: $PDP_LOG)"
# Only what the PDP needs: no root token, unseal key or AppRole secrets in its environment.
# shellcheck disable=SC2086  # PDP_JAVA_OPTS is a word list
setsid env -u PDP_VAULT_ROOT_TOKEN -u PDP_VAULT_UNSEAL_KEY \
    -u PDP_VAULT_APPROLE_ROLE_ID -u PDP_VAULT_APPROLE_SECRET_ID \
    SERVER_ADDRESS=127.0.0.1 \
    SERVER_PORT="$HTTP_PORT" \
    MANAGEMENT_SERVER_ADDRESS=127.0.0.1 \
    MANAGEMENT_SERVER_PORT="$MGMT_PORT" \
    SPRING_SECURITY_OAUTH2_RESOURCESERVER_JWT_PUBLIC_KEY_LOCATION="file:$PUBLIC_KEY" \
    SPRING_SECURITY_OAUTH2_RESOURCESERVER_JWT_AUDIENCES=agent-pdp \
    PDP_SECURITY_ISSUER=agent-pdp-demo \
    "$JAVA" ${PDP_JAVA_OPTS:-} -jar "$JAR" \
    "--spring.flyway.placeholders.app_role=$SPRING_DATASOURCE_USERNAME" \
    >"$PDP_LOG" 2>&1 </dev/null &
PDP_PID=$!
echo "$PDP_PID" >"$PID_FILE"

# Ready when the readiness group (db, opa, vault, clock) answers UP; Flyway has then created the schema.
pdp_ready() { curl -fsS -o /dev/null "$READINESS" 2>/dev/null; }
deadline=$((SECONDS + READY_TIMEOUT))
until pdp_ready; do
  if ! kill -0 "$PDP_PID" 2>/dev/null; then
    tail -n 40 "$PDP_LOG" >&2 || true
    die "the PDP exited during start-up (log: $PDP_LOG)"
  fi
  if ((SECONDS >= deadline)); then
    tail -n 40 "$PDP_LOG" >&2 || true
    die "the PDP was not ready after ${READY_TIMEOUT}s ($READINESS)"
  fi
  sleep 0.5
done
log "PDP ready"

# --- demo tenant: registered through the registry API (GitOps file), not SQL -------------------
(umask 077 && "$SCRIPT_DIR/mint-jwt.sh" "$PRIVATE_KEY" demo-gateway demo "decide" 43200 >"$TOKEN_FILE")
(umask 077 && "$SCRIPT_DIR/mint-jwt.sh" "$PRIVATE_KEY" demo-operator demo "registry-admin security-admin" 43200 >"$ADMIN_TOKEN_FILE")
log "registering tenant demo (scripts/registry-apply.sh scripts/demo/registry.yaml)"
PDP_URL="$API" PDP_TOKEN_FILE="$ADMIN_TOKEN_FILE" "$REPO_ROOT/scripts/registry-apply.sh" "$SCRIPT_DIR/registry.yaml" >&2 \
  || die "the demo registry could not be applied"

# --- self-check -----------------------------------------------------------------------------------
# The bodies name agent-7's SVID as @SVID@: a real one for the self-check, the spire-agent command in the examples.
decision_body() { # TOOL ACTION RESOURCE CLASSIFICATION ARGUMENTS (the call's parameters, checked against the tool's schema)
  printf '{"tenant":"demo","agent":{"id":"agent-7","workload_identity_token":"@SVID@"},"task":{"id":"task-1","intent":"%s","chain_depth":0},"tool":"%s","action":"%s","target":{"system":"crm","resource":"%s"},"data_classification":"%s","arguments":%s}' \
    "help a customer" "$1" "$2" "$3" "$4" "$5"
}
# report-bot's SVID is @REPORT_SVID@.
with_svid() {
  local body="$1"
  [[ "$body" != *@SVID@* ]] || body="${body//@SVID@/$(svid)}"
  [[ "$body" != *@REPORT_SVID@* ]] || body="${body//@REPORT_SVID@/$(svid "$REPORT_SPIFFE_ID")}"
  printf '%s' "$body"
}
in_example() {
  local body="$1" splice="'\"\$($SVID_CMD)\"'" report="'\"\$($REPORT_SVID_CMD)\"'"
  body="${body//@SVID@/$splice}"; printf '%s' "${body//@REPORT_SVID@/$report}"
}
READ_BODY="$(decision_body crm.contacts.read read contacts/42 internal '{"contact_id":"42"}')"
DELETE_BODY="$(decision_body crm.contacts.delete delete contacts/42 internal '{"contact_id":"42"}')"
VIP_BODY="$(decision_body crm.contacts.read read contacts/vip/7 internal '{"contact_id":"vip/7"}')"

decide() { # BODY -> the PDP's answer
  curl -sS -H "Authorization: Bearer $(cat "$TOKEN_FILE")" -H 'Content-Type: application/json' \
    "$API/v1/decisions" -d "$(with_svid "$1")"
}
wrapped_token_of() { # ANSWER -> credential.token of an ALLOW with a wrapped token, or fail
  printf '%s' "$1" | python3 -c 'import json, sys
d = json.load(sys.stdin)
assert d.get("outcome") == "ALLOW" and d["credential"]["type"] == "wrapped_token", d.get("reasons")
print(d["credential"]["token"])' 2>/dev/null
}
answer="$(decide "$READ_BODY")"
wrap_token="$(wrapped_token_of "$answer")" || die "self-check failed: the ALLOW example answered: $answer"
decision_id="$(printf '%s' "$answer" | python3 -c 'import json, sys; print(json.load(sys.stdin)["decision_id"])')" \
  || die "self-check failed: the ALLOW answer has no decision_id: $answer"
unwrapped="$(curl -sS -X POST -H "X-Vault-Token: $wrap_token" "$PDP_VAULT_URL/v1/sys/wrapping/unwrap")"
printf '%s' "$unwrapped" | python3 -c 'import json, sys; assert json.load(sys.stdin)["auth"]["client_token"]' 2>/dev/null \
  || die "self-check failed: unwrapping the credential did not return a token"
log "self-check passed: the read example is ALLOW and its wrapped credential unwraps"
# Dynamic secret (issue 15): report-bot's db.query gets a wrapped PostgreSQL login from OpenBao's database
# engine; it reads demo_crm (and nothing else), and after report-bot's quarantine the lease is revoked and the
# login fails. Released again (by another principal: four-eyes) for the printed example.
DB_BODY="$(printf '{"tenant":"demo","agent":{"id":"report-bot","workload_identity_token":"@REPORT_SVID@"},"task":{"id":"report-1","intent":"weekly report","chain_depth":0},"tool":"db.query","action":"read","target":{"system":"crm","resource":"contacts"},"data_classification":"internal"}')"
PSQL="$PDP_PG_BIN_DIR/psql"
db_login() { # -> "username password" of a fresh db.query decision, unwrapped
  local answer wrap
  answer="$(decide "$DB_BODY")"
  wrap="$(printf '%s' "$answer" | python3 -c 'import json, sys
d = json.load(sys.stdin)
assert d.get("outcome") == "ALLOW" and d["credential"]["type"] == "wrapped_secret", d.get("reasons")
print(d["credential"]["token"])' 2>/dev/null)" || die "self-check failed: the db.query example answered: $answer"
  curl -sS -X POST -H "X-Vault-Token: $wrap" "$PDP_VAULT_URL/v1/sys/wrapping/unwrap" \
    | python3 -c 'import json, sys; d = json.load(sys.stdin)["data"]; print(d["username"], d["password"])'
}
read -r db_user db_password <<<"$(db_login)"
PGPASSWORD="$db_password" "$PSQL" -X -q -At -h 127.0.0.1 -p "$PDP_PG_PORT" -U "$db_user" -d targets \
  -c 'select count(*) from demo_crm.contacts' >/dev/null 2>&1 \
  || die "self-check failed: the dynamic PostgreSQL login cannot read demo_crm"
if PGPASSWORD="$db_password" "$PSQL" -X -q -At -h 127.0.0.1 -p "$PDP_PG_PORT" -U "$db_user" -d targets \
    -c 'select count(*) from demo_billing.invoices' >/dev/null 2>&1; then
  die "self-check failed: the dynamic PostgreSQL login reads demo_billing"
fi
curl -sS -f -o /dev/null -H "Authorization: Bearer $(cat "$ADMIN_TOKEN_FILE")" -H 'Content-Type: application/json' \
  "$API/v1/agents/report-bot/quarantine" -d '{"reason":"demo self-check: quarantine revokes the database lease"}' \
  || die "self-check failed: could not quarantine report-bot"
if PGPASSWORD="$db_password" "$PSQL" -X -q -At -h 127.0.0.1 -p "$PDP_PG_PORT" -U "$db_user" -d targets \
    -c 'select 1' >/dev/null 2>&1; then
  die "self-check failed: the dynamic PostgreSQL login still works after the quarantine"
fi
curl -sS -f -o /dev/null -H "Authorization: Bearer $("$SCRIPT_DIR/mint-jwt.sh" "$PRIVATE_KEY" demo-release-check demo "security-admin" 300)" \
  -H 'Content-Type: application/json' "$API/v1/agents/report-bot/quarantine/release" -d '{"reason":"demo self-check done"}' \
  || die "self-check failed: could not release report-bot"
log "self-check passed: db.query's PostgreSQL login reads demo_crm only, and the quarantine revoked it"
# A second wrapped credential, left wrapped, for the printed unwrap example (single use, 60 s).
example_wrap="$(wrapped_token_of "$(decide "$READ_BODY")")" \
  || die "could not get a wrapped credential for the unwrap example"
example_wrap_until="$(date -u -d '+60 seconds' +%H:%M:%SZ)"

# --- the examples -------------------------------------------------------------------------------
# Every command below works when pasted verbatim (no placeholders): the bearer token is read from
# its file, the wrapped credential and the decision id are the real ones from the self-check.
# They are also written to $EXAMPLES, which scripts/demo/check-examples.sh executes line by line.
EXAMPLES="$RUN_DIR/examples.sh"
q_token_file="$(printf '%q' "$TOKEN_FILE")"
AUTH="-H \"Authorization: Bearer \$(cat $q_token_file)\""
ADMIN_AUTH="-H \"Authorization: Bearer \$(cat $(printf '%q' "$ADMIN_TOKEN_FILE"))\""
NO_SVID_BODY="$(printf '%s' "$READ_BODY" | sed 's/,"workload_identity_token":"@SVID@"//')"
READ_BODY="$(in_example "$READ_BODY")"
DELETE_BODY="$(in_example "$DELETE_BODY")"
VIP_BODY="$(in_example "$VIP_BODY")"
DB_BODY="$(in_example "$DB_BODY")"
cat >"$EXAMPLES" <<EOF
# 1. The bearer token for an enforcement point (tenant demo, scope decide, valid 12 h) is in
#    $TOKEN_FILE; every command reads it from there. More tokens:
#    scripts/demo/mint-jwt.sh $PRIVATE_KEY SUBJECT demo "decide approver" [TTL_SECONDS]
#    The agent proves who it is with a JWT-SVID (5 minutes) from the local SPIRE agent, fetched in each command:
#    $SVID_CMD

# 2. Low-risk read -> ALLOW (low_risk_read) with a response-wrapped Vault token (policy tenant.demo.crm-read from
#    the tool's credential profile crm-reader, 300 s, 10 uses):
curl -s $AUTH -H 'Content-Type: application/json' $API/v1/decisions -d '$READ_BODY'

# 3. Unwrap a credential (once, within 60 s of its decision); .auth.client_token is the agent's Vault token.
#    This wrapped token is from a decision made at start-up: valid once, until $example_wrap_until.
curl -s -X POST -H "X-Vault-Token: $example_wrap" $PDP_VAULT_URL/v1/sys/wrapping/unwrap
#    Any time, in one go (a fresh decision, then its credential unwrapped):
WRAP=\$(curl -s $AUTH -H 'Content-Type: application/json' $API/v1/decisions -d '$READ_BODY' | python3 -c 'import json,sys; print(json.load(sys.stdin)["credential"]["token"])')
curl -s -X POST -H "X-Vault-Token: \$WRAP" $PDP_VAULT_URL/v1/sys/wrapping/unwrap

# 4. Delete -> STEP_UP (high_risk_action), no credential:
curl -s $AUTH -H 'Content-Type: application/json' $API/v1/decisions -d '$DELETE_BODY'

# 5. Read under contacts/vip/ (stored classification confidential beats the declared internal) -> CONSTRAIN
#    (confidential_read; obligations no_export, redact_pii; 120 s, 5 uses):
curl -s $AUTH -H 'Content-Type: application/json' $API/v1/decisions -d '$VIP_BODY'

# 6. The audit record of a decision (here the self-check's ALLOW; any answer's decision_id works):
curl -s $AUTH $API/v1/decisions/$decision_id

# 7. The registry (a token with scope registry-admin, in $ADMIN_TOKEN_FILE): the agents, and the audited change log.
#    Change scripts/demo/registry.yaml and apply it (prints the diff; --dry-run only shows it):
#    PDP_URL=$API PDP_TOKEN_FILE=$ADMIN_TOKEN_FILE scripts/registry-apply.sh scripts/demo/registry.yaml
curl -s $ADMIN_AUTH $API/v1/registry/agents
curl -s $ADMIN_AUTH $API/v1/registry/changes

# 8. A dynamic secret: report-bot's db.query -> ALLOW with a wrapped PostgreSQL login (profile db-reader, 120 s)
#    from OpenBao's database engine, which reads schema demo_crm of database "targets" only; unwrap it and query.
#    (Quarantining report-bot revokes its lease: the login then fails.)
SECRET=\$(curl -s $AUTH -H 'Content-Type: application/json' $API/v1/decisions -d '$DB_BODY' | python3 -c 'import json,sys; print(json.load(sys.stdin)["credential"]["token"])')
LOGIN=\$(curl -s -X POST -H "X-Vault-Token: \$SECRET" $PDP_VAULT_URL/v1/sys/wrapping/unwrap) && PGPASSWORD=\$(echo "\$LOGIN" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["password"])') $PSQL -h 127.0.0.1 -p $PDP_PG_PORT -d targets -U "\$(echo "\$LOGIN" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["username"])')" -c 'select name from demo_crm.contacts'

# 9. The same read without agent-7's SVID -> DENY (workload_identity_required): a decide token alone is not the agent.
curl -s $AUTH -H 'Content-Type: application/json' $API/v1/decisions -d '$NO_SVID_BODY'
EOF

# --- MCP guard demo: a FastMCP tool server behind agent-pdp-guard (clients/python) ----------------
TOOLS_VENV="$(bash -c 'source "$1/scripts/stack/lib.sh"; printf "%s" "$TOOLS_VENV"' _ "$REPO_ROOT")"
VENV_PY="$TOOLS_VENV/bin/python3"
[[ -x "$TOOLS_VENV/bin/agent-pdp-guard" ]] || die "agent-pdp-guard is not installed in $TOOLS_VENV; run: make deps"
pick_free() { # PREFERRED -> PREFERRED if free, else any free port
  if port_free "$1"; then echo "$1"; else
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
  fi
}
GUARD_PORT="$(pick_free "${PDP_GUARD_PORT:-8765}")"
TOOLS_PORT="$(pick_free "${PDP_DEMO_TOOLS_PORT:-8766}")"
GUARD_URL="http://127.0.0.1:$GUARD_PORT/mcp"
GUARD_CONFIG="$RUN_DIR/guard.yaml"
(umask 077 && "$SCRIPT_DIR/mint-jwt.sh" "$PRIVATE_KEY" mcp-guard demo "decide" 43200 >"$RUN_DIR/guard-decide.jwt")
# The guard sends agent-7's JWT-SVID from a file, kept fresh every 2 minutes (as spiffe-helper would).
SVID_FILE="$RUN_DIR/agent-7.jwt-svid"
(umask 077 && svid >"$SVID_FILE")
cat >"$RUN_DIR/svid-refresh.sh" <<EOF
#!/usr/bin/env bash
# Keeps agent-7's JWT-SVID in $SVID_FILE fresh (an SVID lives 5 minutes), as spiffe-helper would.
umask 077
while sleep 120; do
  token="\$($SVID_CMD)"
  if [[ "\$token" == ey* ]]; then printf '%s\n' "\$token" >"$SVID_FILE.tmp" && mv "$SVID_FILE.tmp" "$SVID_FILE"; fi
done
EOF
setsid bash "$RUN_DIR/svid-refresh.sh" >/dev/null 2>&1 </dev/null &
echo $! >"$RUN_DIR/svid-refresh.pid"
"$VENV_PY" - "$REPO_ROOT/clients/python/examples/guard.yaml" "$GUARD_CONFIG" "$API" "$RUN_DIR/guard-decide.jwt" \
    "$PDP_VAULT_URL" "http://127.0.0.1:$TOOLS_PORT/mcp" "$SVID_FILE" <<'PY'
import sys, yaml
example, out, api, token_file, vault, tools_url, svid_file = sys.argv[1:]
config = yaml.safe_load(open(example))
config["pdp"].update(url=api, token_file=token_file, approve_url=api + "/v1/approvals/{approval_id}/approve")
config["vault"]["addr"] = vault
config["agent"]["task_id"] = "guard-demo"
config["agent"]["svid"] = {"file": svid_file}
config["upstreams"]["crm"]["url"] = tools_url
yaml.safe_dump(config, open(out, "w"), sort_keys=False)
PY
log "starting the demo tool server (clients/python/examples/crm_server.py) on 127.0.0.1:$TOOLS_PORT"
setsid "$VENV_PY" "$REPO_ROOT/clients/python/examples/crm_server.py" "$TOOLS_PORT" \
  >"$RUN_DIR/demo-tools.log" 2>&1 </dev/null &
echo $! >"$RUN_DIR/demo-tools.pid"
log "starting agent-pdp-guard on $GUARD_URL (config: $GUARD_CONFIG)"
setsid "$TOOLS_VENV/bin/agent-pdp-guard" --config "$GUARD_CONFIG" --transport http --host 127.0.0.1 \
  --port "$GUARD_PORT" >"$RUN_DIR/guard.log" 2>&1 </dev/null &
echo $! >"$RUN_DIR/guard.pid"
for port in "$TOOLS_PORT" "$GUARD_PORT"; do
  for _ in $(seq 1 150); do port_free "$port" || break; sleep 0.2; done
  if port_free "$port"; then
    die "nothing listens on 127.0.0.1:$port (logs: $RUN_DIR/guard.log, $RUN_DIR/demo-tools.log)"
  fi
done
GUARD_EXAMPLE="$RUN_DIR/mcp-client-example.py"
cat >"$GUARD_EXAMPLE" <<PYEX
# An MCP client (the mcp SDK's) calling tools through agent-pdp-guard. Run: $VENV_PY $GUARD_EXAMPLE
import asyncio, sys
from mcp import Client

async def main() -> int:
    async with Client("$GUARD_URL") as client:
        print("tools:", [tool.name for tool in (await client.list_tools()).tools])
        read = await client.call_tool("read_contact", {"contact_id": "42"})
        print("read_contact   ->", "error" if read.is_error else "ok", read.content[0].text)
        delete = await client.call_tool("delete_contact", {"contact_id": "42"})
        print("delete_contact ->", "error" if delete.is_error else "ok", delete.content[0].text)
    return 1 if read.is_error or not delete.is_error else 0

sys.exit(asyncio.run(main()))
PYEX
"$VENV_PY" "$GUARD_EXAMPLE" >"$RUN_DIR/mcp-client-example.out" 2>&1 \
  || die "self-check failed: through the guard, the read must run and the delete must wait for approval: $(tail -5 "$RUN_DIR/mcp-client-example.out")"
log "self-check passed: through agent-pdp-guard a read ran and a delete waits for an approval"

cat <<EOF

agent-pdp is running (everything on 127.0.0.1 only)
  API          $API   (log: $PDP_LOG)
  readiness    $READINESS
  OPA          $PDP_OPA_URL   (answers only the PDP's decision query)
  OpenBao      $PDP_VAULT_URL   (dev server, in memory)
  PostgreSQL   $SPRING_DATASOURCE_URL
  demo tenant  demo: agent agent-7 (owner alice), tools crm.contacts.read/update/delete and
               payments.transfer, home system crm; crm contacts/vip/* is classified confidential

EOF
cat "$EXAMPLES"
cat <<EOF

# MCP: agent-pdp-guard fronts a demo FastMCP tool server (read/update/delete/export_contacts) for agent-7.
#   MCP endpoint (streamable HTTP): $GUARD_URL   (config: $GUARD_CONFIG)
#   In an MCP client's config:      {"mcpServers": {"crm-via-agent-pdp": {"url": "$GUARD_URL"}}}
#   With the mcp SDK's client:      $VENV_PY $GUARD_EXAMPLE
#   delete_contact answers STEP_UP with an approval id; approve it as bob (not the owner alice), then repeat the call:
#   curl -s -H "Authorization: Bearer \$(scripts/demo/mint-jwt.sh $PRIVATE_KEY bob demo approver 600)" -H 'Content-Type: application/json' $API/v1/approvals/APPROVAL_ID/approve -d '{"comment":"ok"}'
#   Logs: $RUN_DIR/guard.log, $RUN_DIR/demo-tools.log
EOF
echo

if ((DETACH)); then
  trap - EXIT INT TERM HUP
  log "detached; stop with: make stop (or PDP_RUN_DIR=$RUN_DIR scripts/demo/stop.sh)"
  exit 0
fi

log "press Ctrl-C to stop the PDP and the stack"
rc=0
wait "$PDP_PID" || rc=$?
tail -n 20 "$PDP_LOG" >&2 || true
log "the PDP exited with status $rc (log: $PDP_LOG)"
exit "$rc"

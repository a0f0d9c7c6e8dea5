#!/usr/bin/env bash
# Start the agent-pdp local stack (PostgreSQL, OPA, OpenBao dev server, SPIRE server and agent) on
# 127.0.0.1 and write STATE_DIR/env (shell-sourceable, `export` lines).
#
# Usage: scripts/stack/start.sh STATE_DIR
#
# STATE_DIR is always started fresh: if it holds a previous stack (marker file
# .agent-pdp-stack) that stack is stopped and the directory wiped; a non-empty
# directory without the marker is refused.
#
# Env knobs:
#   PDP_STACK_OPA_PORT / PDP_STACK_VAULT_PORT / PDP_STACK_PG_PORT
#       fixed ports (fail if taken). Unset: 8181 / 8200 / 5432, or any free
#       port when the default is taken. OpenBao also uses VAULT_PORT+1.
#   PDP_STACK_SPIRE_PORT     SPIRE server port (default 18081, or any free port when it is taken)
#   PDP_STACK_TRUST_DOMAIN   SPIFFE trust domain (default agent-pdp.test)
#   POLICY_DIR               Rego sources (default: <repo>/policies)
#   PDP_STACK_TIMEOUT        seconds to wait for each service (default 60)
#   PDP_STACK_SKIP_INSTALL=1 do not run install.sh first
#   PDP_STACK_SKIP_VERIFY=1  do not run verify.sh at the end
#   PDP_STACK_KEEP_ON_FAILURE=1  leave services running when start fails
#   PDP_STACK_DURABLE=1      production durability (make bench): PostgreSQL with fsync,
#       synchronous_commit and full_page_writes on, OpenBao on integrated (raft) storage
#       on disk instead of the in-memory -dev server. Default 0: FAST AND NOT DURABLE,
#       for tests only (a crash loses committed data).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/stack/lib.sh
source "$SCRIPT_DIR/lib.sh"

[[ $# -eq 1 && -n "$1" ]] || die "usage: $0 STATE_DIR"
mkdir -p "$1"
STATE_DIR="$(cd "$1" && pwd -P)"
[[ "$STATE_DIR" != "/" ]] || die "refusing to use / as STATE_DIR"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd -P)"
TIMEOUT="${PDP_STACK_TIMEOUT:-60}"
POLICY_DIR="${POLICY_DIR:-$REPO_ROOT/policies}"

# --- tools -----------------------------------------------------------------
if [[ "${PDP_STACK_SKIP_INSTALL:-0}" != 1 ]]; then
  "$SCRIPT_DIR/install.sh" >&2
fi
OPA="$(find_opa)";        [[ -n "$OPA" ]] || die "opa ${STACK_OPA_VERSION} not found (run install.sh)"
SPIRE_SERVER="$(find_spire_server)"; [[ -n "$SPIRE_SERVER" ]] || die "spire-server ${STACK_SPIRE_VERSION} not found (run install.sh)"
SPIRE_AGENT="$(find_spire_agent)";   [[ -n "$SPIRE_AGENT" ]] || die "spire-agent ${STACK_SPIRE_VERSION} not found (run install.sh)"
BAO="$(find_bao)";        [[ -n "$BAO" ]] || die "bao not found (run install.sh)"
PG_BIN="$(find_pg_bindir)"; [[ -n "$PG_BIN" ]] || die "PostgreSQL server binaries not found (run install.sh)"
for t in curl openssl python3; do command -v "$t" >/dev/null 2>&1 || die "$t not found (run install.sh)"; done

# --- fresh state dir -----------------------------------------------------------
if [[ -e "$STATE_DIR/$STACK_MARKER" ]]; then
  log "re-using $STATE_DIR: stopping the previous stack and wiping it"
  "$SCRIPT_DIR/stop.sh" "$STATE_DIR" >&2
  if [[ -f "$STATE_DIR/spireroot" ]]; then
    old_spireroot="$(cat "$STATE_DIR/spireroot")"
    case "$old_spireroot" in /tmp/agent-pdp-spire.*) rm -rf -- "$old_spireroot" ;; esac
  fi
  if [[ -f "$STATE_DIR/pgroot" ]]; then
    old_pgroot="$(cat "$STATE_DIR/pgroot")"
    case "$old_pgroot" in /tmp/agent-pdp-pg.*) rm -rf -- "$old_pgroot" ;; esac
  fi
  find "$STATE_DIR" -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +
elif [[ -n "$(ls -A "$STATE_DIR")" ]]; then
  die "$STATE_DIR is not empty and was not created by start.sh; refusing to wipe it"
fi
touch "$STATE_DIR/$STACK_MARKER"
chmod 755 "$STATE_DIR"

STARTED=0
on_exit() {
  local rc=$?
  if ((rc != 0)) && ((STARTED)) && [[ "${PDP_STACK_KEEP_ON_FAILURE:-0}" != 1 ]]; then
    log "start failed (exit $rc); stopping whatever was started"
    "$SCRIPT_DIR/stop.sh" "$STATE_DIR" >&2 || true
  fi
}
trap on_exit EXIT

# Wait until CMD... succeeds; fail (with the log's tail) on timeout or if the
# process PID died. Usage: wait_for NAME PID LOG CMD...
wait_for() {
  local name="$1" pid="$2" logf="$3" deadline
  shift 3
  deadline=$((SECONDS + TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      show_log "$logf"
      die "$name exited during startup"
    fi
    if ((SECONDS >= deadline)); then
      show_log "$logf"
      die "$name not healthy after ${TIMEOUT}s"
    fi
    sleep 0.3
  done
  log "$name ready"
}

# --- durable variant (PDP_STACK_DURABLE=1) ---------------------------------------
# The default stack is for tests: PostgreSQL without fsync and an in-memory OpenBao dev server. With
# PDP_STACK_DURABLE=1 PostgreSQL syncs every commit and OpenBao keeps its data in raft storage under
# STATE_DIR/bao-data, initialised with one unseal key share and unsealed here.
DURABLE="${PDP_STACK_DURABLE:-0}"
[[ "$DURABLE" == 0 || "$DURABLE" == 1 ]] || die "PDP_STACK_DURABLE must be 0 or 1"
if ((DURABLE)); then PG_DURABLE=on; else PG_DURABLE=off; fi
# Starts OpenBao on raft storage, initialises and unseals it; sets ROOT_TOKEN and UNSEAL_KEY.
durable_openbao_start() {
  local init
  mkdir -p "$STATE_DIR/bao-data"
  cat >"$STATE_DIR/bao.hcl" <<HCL
storage "raft" {
  path    = "$STATE_DIR/bao-data"
  node_id = "agent-pdp-1"
}
listener "tcp" {
  address         = "127.0.0.1:$VAULT_PORT"
  cluster_address = "127.0.0.1:$((VAULT_PORT + 1))"
  tls_disable     = true
}
api_addr      = "http://127.0.0.1:$VAULT_PORT"
cluster_addr  = "http://127.0.0.1:$((VAULT_PORT + 1))"
disable_mlock = true
HCL
  log "starting OpenBao on 127.0.0.1:$VAULT_PORT (raft storage in $STATE_DIR/bao-data; durable)"
  HOME="$STATE_DIR/bao-home" setsid "$BAO" server -config="$STATE_DIR/bao.hcl" >"$STATE_DIR/bao.log" 2>&1 </dev/null &
  echo $! >"$STATE_DIR/bao.pid"
  # sys/seal-status answers 200 once the listener is up, initialised or not.
  wait_for "OpenBao listener" "$(cat "$STATE_DIR/bao.pid")" "$STATE_DIR/bao.log" curl -fsS "$VAULT_URL/v1/sys/seal-status"
  init="$(curl -fsS -X PUT "$VAULT_URL/v1/sys/init" -d '{"secret_shares":1,"secret_threshold":1}')" \
    || die "OpenBao init failed"
  ROOT_TOKEN="$(printf '%s' "$init" | python3 -c 'import json,sys; print(json.load(sys.stdin)["root_token"])')"
  UNSEAL_KEY="$(printf '%s' "$init" | python3 -c 'import json,sys; print(json.load(sys.stdin)["keys_base64"][0])')"
  curl -fsS -X PUT "$VAULT_URL/v1/sys/unseal" -d "{\"key\":\"$UNSEAL_KEY\"}" >/dev/null || die "OpenBao unseal failed"
  # sys/health is 200 only when unsealed and active (the raft node has elected itself leader).
  wait_for OpenBao "$(cat "$STATE_DIR/bao.pid")" "$STATE_DIR/bao.log" curl -fsS "$VAULT_URL/v1/sys/health"
}
# What the dev server mounts by itself: KV version 2 at secret/.
durable_openbao_mounts() {
  vault_api POST sys/mounts/secret "$ROOT_TOKEN" '{"type":"kv","options":{"version":"2"}}' >/dev/null
}

# --- ports ------------------------------------------------------------------
choose_port() { # VAR_NAME DEFAULT SPAN
  local var="$1" def="$2" span="$3" p
  if [[ -n "${!var:-}" ]]; then
    p="$(pick_port "${!var}" "$span" 1)" || die "$var=${!var} is already in use"
  else
    p="$(pick_port "$def" "$span" 0)" || die "no free port found (wanted $def)"
    [[ "$p" == "$def" ]] || log "port $def is taken, using $p instead"
  fi
  printf '%s\n' "$p"
}
PG_PORT="$(choose_port PDP_STACK_PG_PORT 5432 1)"
OPA_PORT="$(choose_port PDP_STACK_OPA_PORT 8181 1)"
VAULT_PORT="$(choose_port PDP_STACK_VAULT_PORT 8200 2)"  # +1 = cluster port
SPIRE_PORT="$(choose_port PDP_STACK_SPIRE_PORT 18081 1)"
for p in "$OPA_PORT" "$VAULT_PORT" "$((VAULT_PORT + 1))" "$SPIRE_PORT"; do
  [[ "$p" != "$PG_PORT" ]] || die "port clash on $p"
done
[[ "$SPIRE_PORT" != "$OPA_PORT" && "$SPIRE_PORT" != "$VAULT_PORT" && "$SPIRE_PORT" != "$((VAULT_PORT + 1))" ]] \
  || die "port clash on $SPIRE_PORT"
[[ "$OPA_PORT" != "$VAULT_PORT" && "$OPA_PORT" != "$((VAULT_PORT + 1))" ]] || die "port clash on $OPA_PORT"

# --- PostgreSQL ---------------------------------------------------------------
# The server runs as the postgres OS user, so its directory must be reachable
# by that user and the socket path short enough (< 108 bytes). Otherwise the
# cluster lives in /tmp/agent-pdp-pg.XXXXXX (recorded in STATE_DIR/pgroot).
PGROOT="$STATE_DIR/pg"
if [[ "$(id -u)" -eq 0 ]]; then PG_SUPERUSER=postgres; else PG_SUPERUSER="$(id -un)"; fi
if ((${#PGROOT} > 80)) || { [[ "$(id -u)" -eq 0 ]] && ! runuser -u postgres -- test -x "$STATE_DIR"; }; then
  PGROOT="$(mktemp -d /tmp/agent-pdp-pg.XXXXXX)"
  printf '%s\n' "$PGROOT" >"$STATE_DIR/pgroot"
  ln -s "$PGROOT" "$STATE_DIR/pg"
  log "postgres cannot use $STATE_DIR directly; cluster is in $PGROOT"
else
  mkdir -p "$PGROOT"
fi
mkdir -p "$PGROOT/run"
if [[ "$(id -u)" -eq 0 ]]; then chown -R postgres:postgres "$PGROOT"; fi
chmod 700 "$PGROOT"
printf '%s\n' "$PG_BIN" >"$STATE_DIR/pg_bin"
PG_LOG="$PGROOT/postgres.log"
PG_SOCK="$PGROOT/run"

STARTED=1
log "initdb $PGROOT/data"
if ! as_pg "$PG_BIN/initdb" -D "$PGROOT/data" -U "$PG_SUPERUSER" -E UTF8 --no-locale \
      --auth-local=peer --auth-host=scram-sha-256 --no-sync >"$STATE_DIR/initdb.log" 2>&1; then
  show_log "$STATE_DIR/initdb.log"
  die "initdb failed"
fi
cat >>"$PGROOT/data/postgresql.conf" <<EOF

# --- agent-pdp local stack ---
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCK'
# Integration tests run several PDP replicas (each a pool and a LISTEN session) side by side.
max_connections = 400
# Fast and not durable unless PDP_STACK_DURABLE=1 (see the durable section above).
fsync = $PG_DURABLE
synchronous_commit = $PG_DURABLE
full_page_writes = $PG_DURABLE
logging_collector = off
EOF
log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
if ! as_pg "$PG_BIN/pg_ctl" -D "$PGROOT/data" -l "$PG_LOG" -w -t "$TIMEOUT" start >/dev/null 2>&1; then
  show_log "$PG_LOG"
  die "PostgreSQL did not start"
fi
head -n 1 "$PGROOT/data/postmaster.pid" >"$STATE_DIR/postgres.pid"
wait_for PostgreSQL "$(cat "$STATE_DIR/postgres.pid")" "$PG_LOG" \
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"

as_pg "$PG_BIN/psql" -X -q -h "$PG_SOCK" -p "$PG_PORT" -U "$PG_SUPERUSER" -d postgres \
  -v ON_ERROR_STOP=1 <<'SQL'
CREATE ROLE pdp_owner LOGIN PASSWORD 'pdp_owner' NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE ROLE pdp_app LOGIN PASSWORD 'pdp_app' NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE DATABASE agentpdp OWNER pdp_owner;
REVOKE ALL ON DATABASE agentpdp FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE agentpdp TO pdp_app;
SQL
log "database agentpdp (owner pdp_owner) and role pdp_app created"

# --- OPA ----------------------------------------------------------------------
BUNDLE_DIR="$STATE_DIR/bundle"
if [[ -f "$POLICY_DIR/bundle.sh" ]]; then
  log "building bundle with $POLICY_DIR/bundle.sh"
  if ! (cd "$REPO_ROOT" && bash "$POLICY_DIR/bundle.sh" "$BUNDLE_DIR") >"$STATE_DIR/bundle.log" 2>&1; then
    show_log "$STATE_DIR/bundle.log"
    die "policy bundle build failed"
  fi
elif [[ -d "$POLICY_DIR" ]]; then
  log "no $POLICY_DIR/bundle.sh; loading non-test .rego (and data.json/yaml) from $POLICY_DIR"
  mkdir -p "$BUNDLE_DIR"
  (cd "$POLICY_DIR" && find . -type f \( \( -name '*.rego' ! -name '*_test.rego' \) \
      -o -name data.json -o -name data.yaml \) -print0) |
    while IFS= read -r -d '' f; do
      mkdir -p "$BUNDLE_DIR/$(dirname "$f")"
      cp "$POLICY_DIR/$f" "$BUNDLE_DIR/$f"
    done
else
  log "WARNING: $POLICY_DIR does not exist; OPA starts with no policies"
  mkdir -p "$BUNDLE_DIR"
fi
[[ -d "$BUNDLE_DIR" ]] || die "bundle directory $BUNDLE_DIR was not produced"
# As in the Helm chart: the API answers only what system.authz allows (the decision query, /health,
# /metrics); PUT /v1/policies, /v1/data reads and writes are refused.
AUTHZ_DIR="$STATE_DIR/authz-bundle"
if ! bash "$REPO_ROOT/policies/bundle.sh" --authz "$AUTHZ_DIR" >>"$STATE_DIR/bundle.log" 2>&1; then
  show_log "$STATE_DIR/bundle.log"
  die "OPA authorization bundle build failed"
fi

log "starting OPA on 127.0.0.1:$OPA_PORT (--authorization=basic)"
setsid "$OPA" run --server --addr "127.0.0.1:$OPA_PORT" --log-level error \
  --skip-version-check --authorization=basic --bundle "$BUNDLE_DIR" "$AUTHZ_DIR" \
  >"$STATE_DIR/opa.log" 2>&1 </dev/null &
echo $! >"$STATE_DIR/opa.pid"
OPA_URL="http://127.0.0.1:$OPA_PORT"
wait_for OPA "$(cat "$STATE_DIR/opa.pid")" "$STATE_DIR/opa.log" curl -fsS "$OPA_URL/health"

# --- OpenBao --------------------------------------------------------------------
VAULT_URL="http://127.0.0.1:$VAULT_PORT"
mkdir -p "$STATE_DIR/bao-home"   # the server writes ~/.vault-token; keep it here
if ((DURABLE)); then
  durable_openbao_start
else
  ROOT_TOKEN="$(openssl rand -hex 12)"
  log "starting OpenBao dev server on 127.0.0.1:$VAULT_PORT"
  HOME="$STATE_DIR/bao-home" setsid "$BAO" server -dev -dev-root-token-id="$ROOT_TOKEN" \
    -dev-listen-address="127.0.0.1:$VAULT_PORT" >"$STATE_DIR/bao.log" 2>&1 </dev/null &
  echo $! >"$STATE_DIR/bao.pid"
  wait_for OpenBao "$(cat "$STATE_DIR/bao.pid")" "$STATE_DIR/bao.log" curl -fsS "$VAULT_URL/v1/sys/health"
  wait_for "OpenBao unseal key" "$(cat "$STATE_DIR/bao.pid")" "$STATE_DIR/bao.log" \
    grep -q '^Unseal Key: ' "$STATE_DIR/bao.log"
  UNSEAL_KEY="$(sed -n 's/^Unseal Key: //p' "$STATE_DIR/bao.log" | head -n 1)"
fi
(umask 077
 printf '%s\n' "$ROOT_TOKEN" >"$STATE_DIR/bao-root-token"
 printf '%s\n' "$UNSEAL_KEY" >"$STATE_DIR/bao-unseal-key")

# vault_api METHOD PATH TOKEN [JSON_BODY [extra curl args...]] -> response body.
vault_api() {
  local method="$1" path="$2" token="$3" body="${4:-}" out code
  shift 3; if (($#)); then shift; fi
  local -a args=(-sS -X "$method" -H "X-Vault-Token: $token" -w '\n%{http_code}')
  if [[ -n "$body" ]]; then args+=(-H 'Content-Type: application/json' --data "$body"); fi
  out="$(curl "${args[@]}" "$@" "$VAULT_URL/v1/$path")" || die "$method $path: curl failed"
  code="${out##*$'\n'}"
  out="${out%$'\n'*}"
  ((code < 400)) || die "$method $path -> HTTP $code: $out"
  printf '%s' "$out"
}
# json_get KEY.PATH < json
json_get() {
  python3 -c 'import json, sys
d = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    d = d[k]
print(d)' "$1"
}
put_policy() { # NAME HCL
  local body
  body="$(python3 -c 'import json, sys; print(json.dumps({"policy": sys.argv[1]}))' "$2")"
  vault_api PUT "sys/policies/acl/$1" "$ROOT_TOKEN" "$body" >/dev/null
}

log "configuring OpenBao"
if ((DURABLE)); then durable_openbao_mounts; fi
# Agent credentials are scoped per tenant (tenant.<tenant>.* policies, token role agent-pdp.<tenant>, database
# roles <tenant>.*): scripts/stack/tenant-layout.sh creates that layout once the env file is written (below).
put_policy agent-pdp '
# Mint agent tokens through the token roles of the tenants (agent-pdp.<tenant>: each allows the policies of
# one tenant only); the caller asks for response wrapping with X-Vault-Wrap-TTL.
path "auth/token/create/agent-pdp.*" { capabilities = ["create", "update"] }
path "auth/token/roles/agent-pdp.*"  { capabilities = ["read"] }
# Dynamic secrets of the database roles of the tenants (<tenant>.<role>): read, set the lease to the decided
# TTL, revoke by lease id (quarantine).
path "database/creds/*"              { capabilities = ["read"] }
path "sys/leases/renew"              { capabilities = ["update"] }
path "sys/leases/revoke"             { capabilities = ["update"] }
# Inspect / revoke minted tokens by accessor (wrap_info.wrapped_accessor).
path "auth/token/lookup-accessor"  { capabilities = ["update"] }
path "auth/token/revoke-accessor"  { capabilities = ["update"] }
# Own token upkeep.
path "auth/token/lookup-self"      { capabilities = ["read"] }
path "auth/token/renew-self"       { capabilities = ["update"] }
path "sys/capabilities-self"       { capabilities = ["update"] }
# Response-wrapping helpers.
path "sys/wrapping/lookup"         { capabilities = ["update"] }
path "sys/wrapping/unwrap"         { capabilities = ["update"] }
path "sys/wrapping/rewrap"         { capabilities = ["update"] }
path "sys/wrapping/wrap"           { capabilities = ["update"] }
# Sign and verify audit checkpoints with the transit key; never read, export, rotate or delete it.
path "transit/sign/agent-pdp-audit"   { capabilities = ["update"] }
path "transit/verify/agent-pdp-audit" { capabilities = ["update"] }
'

# The audit checkpoint signing key (transit engine, ed25519): the private key stays in OpenBao.
vault_api POST sys/mounts/transit "$ROOT_TOKEN" '{"type":"transit"}' >/dev/null
vault_api POST transit/keys/agent-pdp-audit "$ROOT_TOKEN" '{"type":"ed25519","exportable":false}' >/dev/null

# AppRole for the PDP.
vault_api POST sys/auth/approle "$ROOT_TOKEN" '{"type":"approle"}' >/dev/null
vault_api POST auth/approle/role/agent-pdp "$ROOT_TOKEN" \
  '{"token_policies":["agent-pdp"],"token_type":"service","token_ttl":"1h","token_max_ttl":"24h","secret_id_ttl":"0"}' >/dev/null
APPROLE_ROLE_ID="$(vault_api GET auth/approle/role/agent-pdp/role-id "$ROOT_TOKEN" | json_get data.role_id)"
APPROLE_SECRET_ID="$(vault_api POST auth/approle/role/agent-pdp/secret-id "$ROOT_TOKEN" '{}' | json_get data.secret_id)"

# Periodic, orphan service token for the PDP (so it never uses the root token).
PDP_TOKEN="$(vault_api POST auth/token/create "$ROOT_TOKEN" \
  '{"policies":["agent-pdp"],"period":"24h","no_parent":true,"renewable":true,"display_name":"agent-pdp"}' \
  | json_get auth.client_token)"

# --- SPIRE -----------------------------------------------------------------------
# A SPIRE server and agent on loopback: the agent attests to the server with a join token, and its
# Workload API (a unix socket) attests workloads by their unix uid. The current user's processes get
# one JWT-SVID identity per registration entry below; a client picks one with -spiffeID.
# Unix sockets need a short path (< 108 bytes): otherwise SPIRE lives in /tmp/agent-pdp-spire.XXXXXX.
TRUST_DOMAIN="${PDP_STACK_TRUST_DOMAIN:-agent-pdp.test}"
SPIFFE_AUDIENCE="agent-pdp"
SPIRE_DIR="$STATE_DIR/spire"
if ((${#SPIRE_DIR} > 70)); then
  SPIRE_DIR="$(mktemp -d /tmp/agent-pdp-spire.XXXXXX)"
  printf '%s\n' "$SPIRE_DIR" >"$STATE_DIR/spireroot"
  ln -s "$SPIRE_DIR" "$STATE_DIR/spire"
fi
mkdir -p "$SPIRE_DIR/server" "$SPIRE_DIR/agent"
chmod 700 "$SPIRE_DIR"
SPIRE_SERVER_SOCK="$SPIRE_DIR/server/api.sock"
SPIFFE_SOCK="$SPIRE_DIR/agent/workload.sock"
cat >"$SPIRE_DIR/server.conf" <<EOF
server {
  bind_address = "127.0.0.1"
  bind_port = "$SPIRE_PORT"
  socket_path = "$SPIRE_SERVER_SOCK"
  trust_domain = "$TRUST_DOMAIN"
  data_dir = "$SPIRE_DIR/server/data"
  log_level = "WARN"
  ca_ttl = "24h"
  default_x509_svid_ttl = "1h"
  default_jwt_svid_ttl = "5m"
}
plugins {
  DataStore "sql" {
    plugin_data {
      database_type = "sqlite3"
      connection_string = "$SPIRE_DIR/server/data/datastore.sqlite3"
    }
  }
  NodeAttestor "join_token" {
    plugin_data {}
  }
  KeyManager "memory" {
    plugin_data {}
  }
}
EOF
log "starting SPIRE server on 127.0.0.1:$SPIRE_PORT (trust domain $TRUST_DOMAIN)"
setsid "$SPIRE_SERVER" run -config "$SPIRE_DIR/server.conf" >"$SPIRE_DIR/server.log" 2>&1 </dev/null &
echo $! >"$STATE_DIR/spire-server.pid"
wait_for "SPIRE server" "$(cat "$STATE_DIR/spire-server.pid")" "$SPIRE_DIR/server.log" \
  "$SPIRE_SERVER" healthcheck -socketPath "$SPIRE_SERVER_SOCK"

# Registration entries, parented to the node the join token attests. Test and demo workloads all run
# as this uid; each SPIFFE ID below is one identity they can fetch a JWT-SVID for.
NODE_ID="spiffe://$TRUST_DOMAIN/node/local"
JOIN_TOKEN="$("$SPIRE_SERVER" token generate -socketPath "$SPIRE_SERVER_SOCK" -spiffeID "$NODE_ID" -ttl 600 \
  | awk '/^Token:/ {print $2}')"
[[ -n "$JOIN_TOKEN" ]] || die "spire-server token generate printed no token"
SPIFFE_IDS=()
for workload in agents/agent-7 agents/report-bot tests/workload-a tests/workload-b; do
  SPIFFE_IDS+=("spiffe://$TRUST_DOMAIN/$workload")
  "$SPIRE_SERVER" entry create -socketPath "$SPIRE_SERVER_SOCK" -parentID "$NODE_ID" \
    -spiffeID "spiffe://$TRUST_DOMAIN/$workload" -selector "unix:uid:$(id -u)" >/dev/null \
    || die "spire-server entry create $workload failed"
done

cat >"$SPIRE_DIR/agent.conf" <<EOF
agent {
  data_dir = "$SPIRE_DIR/agent/data"
  log_level = "WARN"
  server_address = "127.0.0.1"
  server_port = "$SPIRE_PORT"
  socket_path = "$SPIFFE_SOCK"
  trust_domain = "$TRUST_DOMAIN"
  insecure_bootstrap = true
}
plugins {
  NodeAttestor "join_token" {
    plugin_data {}
  }
  KeyManager "memory" {
    plugin_data {}
  }
  WorkloadAttestor "unix" {
    plugin_data {}
  }
}
EOF
log "starting SPIRE agent (Workload API $SPIFFE_SOCK)"
setsid "$SPIRE_AGENT" run -config "$SPIRE_DIR/agent.conf" -joinToken "$JOIN_TOKEN" \
  >"$SPIRE_DIR/agent.log" 2>&1 </dev/null &
echo $! >"$STATE_DIR/spire-agent.pid"
wait_for "SPIRE agent" "$(cat "$STATE_DIR/spire-agent.pid")" "$SPIRE_DIR/agent.log" \
  "$SPIRE_AGENT" healthcheck -socketPath "$SPIFFE_SOCK"
for id in "${SPIFFE_IDS[@]}"; do
  wait_for "JWT-SVID for $id" "$(cat "$STATE_DIR/spire-agent.pid")" "$SPIRE_DIR/agent.log" \
    "$SPIRE_AGENT" api fetch jwt -socketPath "$SPIFFE_SOCK" -audience "$SPIFFE_AUDIENCE" -spiffeID "$id"
done
# The trust bundle as a SPIFFE bundle (JWKS) file, for PDPs configured with a bundle file.
"$SPIRE_SERVER" bundle show -socketPath "$SPIRE_SERVER_SOCK" -format spiffe >"$SPIRE_DIR/bundle.jwks" \
  || die "spire-server bundle show failed"

# --- env file -------------------------------------------------------------------
JDBC_URL="jdbc:postgresql://127.0.0.1:$PG_PORT/agentpdp"
ENV_FILE="$STATE_DIR/env"
emit() { printf 'export %s=%q\n' "$1" "$2"; }
(
  umask 077
  {
    printf '# agent-pdp local stack, written by scripts/stack/start.sh\n'
    emit PDP_STACK_STATE_DIR "$STATE_DIR"
    emit PDP_OPA_URL "$OPA_URL"
    emit PDP_OPA_PORT "$OPA_PORT"
    emit PDP_VAULT_URL "$VAULT_URL"
    emit PDP_VAULT_PORT "$VAULT_PORT"
    emit PDP_VAULT_TOKEN "$PDP_TOKEN"
    emit PDP_VAULT_ROOT_TOKEN "$ROOT_TOKEN"
    emit PDP_VAULT_UNSEAL_KEY "$UNSEAL_KEY"
    emit PDP_VAULT_APPROLE_ROLE_ID "$APPROLE_ROLE_ID"
    emit PDP_VAULT_APPROLE_SECRET_ID "$APPROLE_SECRET_ID"
    emit PDP_VAULT_TOKEN_ROLE 'agent-pdp.{tenant}'
    emit SPRING_DATASOURCE_URL "$JDBC_URL"
    emit SPRING_DATASOURCE_USERNAME "pdp_app"
    emit SPRING_DATASOURCE_PASSWORD "pdp_app"
    emit SPRING_FLYWAY_USER "pdp_owner"
    emit SPRING_FLYWAY_PASSWORD "pdp_owner"
    emit PDP_TEST_OPA_URL "$OPA_URL"
    emit PDP_TEST_VAULT_URL "$VAULT_URL"
    emit PDP_TEST_POSTGRES_URL "$JDBC_URL"
    emit PDP_PG_BIN_DIR "$PG_BIN"
    emit PDP_PG_PORT "$PG_PORT"
    emit PDP_PG_SOCKET_DIR "$PG_SOCK"
    emit PDP_PG_DATA_DIR "$PGROOT/data"
    emit PDP_OPA_BIN "$OPA"
    emit PDP_BAO_BIN "$BAO"
    emit PDP_IDENTITY_TRUST_DOMAIN "$TRUST_DOMAIN"
    emit PDP_IDENTITY_AUDIENCE "$SPIFFE_AUDIENCE"
    emit PDP_IDENTITY_WORKLOAD_API_SOCKET "unix:$SPIFFE_SOCK"
    emit PDP_SPIFFE_SOCKET "$SPIFFE_SOCK"
    emit PDP_SPIFFE_BUNDLE_FILE "$SPIRE_DIR/bundle.jwks"
    emit PDP_SPIFFE_IDS "$(IFS=,; printf '%s' "${SPIFFE_IDS[*]}")"
    emit PDP_SPIRE_AGENT_BIN "$SPIRE_AGENT"
    emit PDP_SPIRE_SERVER_BIN "$SPIRE_SERVER"
    emit PDP_SPIRE_SERVER_SOCKET "$SPIRE_SERVER_SOCK"
  } >"$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
)

# --- tenant layout in OpenBao (issue 15) ------------------------------------------
# The database secrets engine on the "targets" database, and the reference tenants demo and acme
# (policies tenant.<tenant>.*, token role agent-pdp.<tenant>, database role <tenant>.crm-read).
"$SCRIPT_DIR/tenant-layout.sh" init "$STATE_DIR"
"$SCRIPT_DIR/tenant-layout.sh" onboard "$STATE_DIR" demo acme
# --- end of tenant layout -------------------------------------------------------------

if [[ "${PDP_STACK_SKIP_VERIFY:-0}" != 1 ]]; then
  "$SCRIPT_DIR/verify.sh" "$STATE_DIR" >&2
fi

log "stack is up; source $ENV_FILE"
printf 'OPA        %s (pid %s, log %s)\n' "$OPA_URL" "$(cat "$STATE_DIR/opa.pid")" "$STATE_DIR/opa.log"
printf 'OpenBao    %s (pid %s, log %s)\n' "$VAULT_URL" "$(cat "$STATE_DIR/bao.pid")" "$STATE_DIR/bao.log"
printf 'PostgreSQL %s (pid %s, log %s)\n' "$JDBC_URL" "$(cat "$STATE_DIR/postgres.pid")" "$PG_LOG"
printf 'SPIRE      %s (server pid %s, agent pid %s, Workload API %s)\n' "spiffe://$TRUST_DOMAIN" \
  "$(cat "$STATE_DIR/spire-server.pid")" "$(cat "$STATE_DIR/spire-agent.pid")" "$SPIFFE_SOCK"
printf 'env        %s\n' "$ENV_FILE"

#!/usr/bin/env bash
# The reference OpenBao/Vault layout for tenants (issue 15; docs/operations.md, "Onboard a tenant in
# OpenBao/Vault"). Isolation is by naming convention, enforced by OpenBao:
#   - the tenant's ACL policies are tenant.<tenant>.<name> (scripts/stack/openbao/tenant-policies/*.hcl);
#   - its token role agent-pdp.<tenant> allows only policies tenant.<tenant>.* and entity aliases
#     <tenant>/agents/* (scripts/stack/openbao/tenant-role.json), and the PDP mints through it;
#   - per-agent paths (secret/data/tenants/<tenant>/agents/<agent>/*) are reached through the templated
#     policy agent-own and the token's entity alias <tenant>/agents/<agent>;
#   - dynamic secrets: database engine role <tenant>.crm-read (scripts/stack/openbao/database-role.json)
#     on the stack's PostgreSQL database "targets", which can read schema "<tenant>_crm" only.
#
# Usage: scripts/stack/tenant-layout.sh init STATE_DIR          (start.sh runs it: database engine)
#        scripts/stack/tenant-layout.sh onboard STATE_DIR TENANT... (start.sh runs it for demo and acme)
# STATE_DIR is a stack of scripts/stack/start.sh (its env file names OpenBao, the root token and PostgreSQL).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/stack/lib.sh
source "$SCRIPT_DIR/lib.sh"
LAYOUT_DIR="$SCRIPT_DIR/openbao"

[[ $# -ge 2 ]] || die "usage: $0 init|onboard STATE_DIR [TENANT...]"
MODE="$1"
STATE_DIR="$(cd "$2" && pwd -P)"
shift 2
[[ -f "$STATE_DIR/env" ]] || die "$STATE_DIR/env not found (start the stack first)"
# shellcheck disable=SC1091
source "$STATE_DIR/env"
VAULT_URL="$PDP_VAULT_URL"
ROOT_TOKEN="$PDP_VAULT_ROOT_TOKEN"

# vault METHOD PATH [JSON_BODY] -> response body; fails on HTTP >= 400.
vault() {
  local out code
  local -a args=(-sS -X "$1" -H "X-Vault-Token: $ROOT_TOKEN" -w '\n%{http_code}')
  if [[ -n "${3:-}" ]]; then args+=(-H 'Content-Type: application/json' --data "$3"); fi
  out="$(curl "${args[@]}" "$VAULT_URL/v1/$2")" || die "$1 $2: curl failed"
  code="${out##*$'\n'}"
  out="${out%$'\n'*}"
  ((code < 400)) || die "$1 $2 -> HTTP $code: $out"
  printf '%s' "$out"
}

# The tenant names OpenBao objects: lower case, no '.' or '/', so no tenant's prefix is another's.
check_tenant() {
  [[ "$1" =~ ^[a-z0-9][a-z0-9_-]{0,62}$ ]] || die "tenant '$1' cannot be onboarded: it must match ^[a-z0-9][a-z0-9_-]{0,62}\$"
}

# render FILE TENANT -> the file with @TENANT@ and @TOKEN_ACCESSOR@ filled in.
render() {
  local accessor
  accessor="$(vault GET sys/auth | python3 -c 'import json, sys; print(json.load(sys.stdin)["token/"]["accessor"])')"
  sed -e "s/@TENANT@/$2/g" -e "s/@TOKEN_ACCESSOR@/$accessor/g" "$1"
}

targets_psql() { # SQL as the targets database's owner (vault_admin), over TCP
  PGPASSWORD="$(cat "$STATE_DIR/targets-admin-password")" "$PDP_PG_BIN_DIR/psql" -X -q -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$PDP_PG_PORT" -U vault_admin -d targets "$@"
}

init() {
  local password superuser
  password="$(openssl rand -hex 16)"
  (umask 077; printf '%s\n' "$password" >"$STATE_DIR/targets-admin-password")
  if [[ "$(id -u)" -eq 0 ]]; then superuser=postgres; else superuser="$(id -un)"; fi
  # The target system the agents' database credentials are for: its own database, owned by the role
  # OpenBao's database engine connects as (it creates and drops the short-lived login roles).
  as_pg "$PDP_PG_BIN_DIR/psql" -X -q -h "$PDP_PG_SOCKET_DIR" -p "$PDP_PG_PORT" -U "$superuser" -d postgres \
    -v ON_ERROR_STOP=1 -v password="$password" <<'SQL'
CREATE ROLE vault_admin LOGIN CREATEROLE PASSWORD :'password';
CREATE DATABASE targets OWNER vault_admin;
REVOKE ALL ON DATABASE targets FROM PUBLIC;
SQL
  targets_psql -c 'REVOKE ALL ON SCHEMA public FROM PUBLIC'
  vault POST sys/mounts/database '{"type":"database"}' >/dev/null
  vault POST database/config/targets "$(python3 -c 'import json, sys; print(json.dumps({
    "plugin_name": "postgresql-database-plugin", "allowed_roles": "*",
    "connection_url": "postgresql://{{username}}:{{password}}@127.0.0.1:%s/targets?sslmode=disable" % sys.argv[1],
    "username": "vault_admin", "password": sys.argv[2], "verify_connection": True}))' "$PDP_PG_PORT" "$password")" >/dev/null
  log "OpenBao database engine on database 'targets' ready"
}

onboard() {
  local tenant="$1" file name
  check_tenant "$tenant"
  for file in "$LAYOUT_DIR"/tenant-policies/*.hcl; do
    name="$(basename "$file" .hcl)"
    vault PUT "sys/policies/acl/tenant.$tenant.$name" \
      "$(render "$file" "$tenant" | python3 -c 'import json, sys
policy = sys.stdin.read()
# A templated policy (agent-own) substitutes the entity alias <tenant>/agents/<agent>, which has slashes; the
# token role allows no other alias, and agent ids have no "/".
print(json.dumps({"policy": policy, "allow_slashes_in_identity_templates": "{{identity." in policy}))')" >/dev/null
  done
  vault POST "auth/token/roles/agent-pdp.$tenant" "$(render "$LAYOUT_DIR/tenant-role.json" "$tenant")" >/dev/null
  # Example secrets, so that a credential has something to read (and another tenant's to be refused).
  vault POST "secret/data/tenants/$tenant/crm/example" '{"data":{"value":"crm example"}}' >/dev/null
  vault POST "secret/data/tenants/$tenant/secret/db-password" '{"data":{"value":"example password"}}' >/dev/null
  # The tenant's schemas in the targets database: <tenant>_crm (granted to <tenant>.crm-read) and
  # <tenant>_billing (granted to nobody: the credential must not read it).
  targets_psql <<SQL
CREATE SCHEMA IF NOT EXISTS "${tenant}_crm";
CREATE TABLE IF NOT EXISTS "${tenant}_crm".contacts (id integer PRIMARY KEY, name text NOT NULL);
INSERT INTO "${tenant}_crm".contacts VALUES (1, 'Ada ($tenant)'), (2, 'Grace ($tenant)') ON CONFLICT DO NOTHING;
CREATE SCHEMA IF NOT EXISTS "${tenant}_billing";
CREATE TABLE IF NOT EXISTS "${tenant}_billing".invoices (id integer PRIMARY KEY, amount numeric NOT NULL);
SQL
  vault POST "database/roles/$tenant.crm-read" "$(render "$LAYOUT_DIR/database-role.json" "$tenant")" >/dev/null
  log "tenant $tenant onboarded: policies tenant.$tenant.*, token role agent-pdp.$tenant, database role $tenant.crm-read"
}

case "$MODE" in
  init) init ;;
  onboard) for t in "$@"; do onboard "$t"; done ;;
  *) die "unknown mode $MODE (init or onboard)" ;;
esac

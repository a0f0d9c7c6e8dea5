#!/usr/bin/env bash
# Smoke-test a running local stack (start.sh runs this at the end).
# Usage: scripts/stack/verify.sh STATE_DIR      (VERBOSE=1 prints full JSON)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/stack/lib.sh
source "$SCRIPT_DIR/lib.sh"

[[ $# -eq 1 ]] || die "usage: $0 STATE_DIR"
[[ -r "$1/env" ]] || die "$1/env not found; run start.sh first"
# shellcheck source=/dev/null
source "$1/env"

# --- OPA ----------------------------------------------------------------------
curl -fsS "$PDP_OPA_URL/health" >/dev/null || die "OPA health check failed"
log "verify: OPA $PDP_OPA_URL/health ok"

# --- OpenBao: mint a wrapped agent token with the PDP token, unwrap, revoke -----------
python3 - <<'PY'
import json, os, sys, urllib.error, urllib.request

URL = os.environ["PDP_VAULT_URL"]
PDP = os.environ["PDP_VAULT_TOKEN"]
ROLE = os.environ["PDP_VAULT_TOKEN_ROLE"].replace("{tenant}", "acme")
VERBOSE = os.environ.get("VERBOSE") == "1"
SECRET_KEYS = {"token", "client_token", "id", "secret_id", "accessor", "wrapped_accessor"}


def call(method, path, token=None, body=None, headers=None):
    req = urllib.request.Request(URL + "/v1/" + path, method=method)
    if token:
        req.add_header("X-Vault-Token", token)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, data, timeout=10) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, (json.loads(raw) if raw else None)


def masked(obj):
    if isinstance(obj, dict):
        return {k: ("<redacted>" if k in SECRET_KEYS and isinstance(v, str) and v else masked(v))
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [masked(v) for v in obj]
    return obj


def show(title, obj):
    if VERBOSE:
        print("[stack] verify: %s\n%s" % (title, json.dumps(masked(obj), indent=2, sort_keys=True)),
              file=sys.stderr)


def check(cond, msg):
    if not cond:
        print("[stack] verify FAILED: " + msg, file=sys.stderr)
        sys.exit(1)


st, me = call("GET", "auth/token/lookup-self", PDP)
check(st == 200, "PDP token lookup-self -> %s %s" % (st, me))
check("agent-pdp" in me["data"]["policies"] and "root" not in me["data"]["policies"],
      "PDP token policies %s" % me["data"]["policies"])
check(me["data"]["period"] > 0, "PDP token is not periodic")
st, _ = call("POST", "auth/token/renew-self", PDP, {})
check(st == 200, "PDP token renew-self -> %s" % st)

req = {"policies": ["tenant.acme.crm-read"], "ttl": "60s", "num_uses": 3, "meta": {"tenant": "acme"}}
st, wrapped = call("POST", "auth/token/create/" + ROLE, PDP, req, {"X-Vault-Wrap-TTL": "60s"})
check(st == 200, "wrapped create -> %s %s" % (st, wrapped))
show("wrapped create response", wrapped)
wi = wrapped.get("wrap_info") or {}
check(wrapped.get("auth") is None, "wrapped response leaked auth")
for k in ("token", "accessor", "ttl", "creation_time", "creation_path", "wrapped_accessor"):
    check(wi.get(k), "wrap_info.%s missing: %s" % (k, sorted(wi)))
check(wi["creation_path"] == "auth/token/create/" + ROLE, "creation_path %s" % wi["creation_path"])

st, unwrapped = call("POST", "sys/wrapping/unwrap", wi["token"], {})
check(st == 200, "unwrap -> %s %s" % (st, unwrapped))
show("unwrap response", unwrapped)
auth = unwrapped["auth"]
check(auth["accessor"] == wi["wrapped_accessor"], "wrapped_accessor != unwrapped accessor")
check(auth["num_uses"] == 3 and auth["metadata"] == {"tenant": "acme"}, "unwrapped auth %s" % masked(auth))
check(auth["orphan"] is True and auth["renewable"] is False, "token role flags not applied")
st, _ = call("POST", "sys/wrapping/unwrap", wi["token"], {})
check(st >= 400, "wrap token could be unwrapped twice")

agent = auth["client_token"]
st, ls = call("GET", "auth/token/lookup-self", agent)
check(st == 200, "agent lookup-self -> %s" % st)
show("agent lookup-self", ls)
d = ls["data"]
check(sorted(d["policies"]) == ["default", "tenant.acme.crm-read"], "agent policies %s" % d["policies"])
check(d["num_uses"] == 2, "num_uses after one lookup-self is %s, expected 2" % d["num_uses"])
check(d["role"] == ROLE and d["meta"] == {"tenant": "acme"}, "agent role/meta %s" % masked(d))
st, sec = call("GET", "secret/data/tenants/acme/crm/example", agent)
check(st == 200 and sec["data"]["data"] == {"value": "crm example"}, "agent secret read -> %s" % st)
# Tenant isolation (issue 15): acme's token does not reach demo's secrets, and acme's role mints no demo policy.
st, other = call("POST", "auth/token/create/" + ROLE, PDP, {"policies": ["tenant.acme.crm-read"], "ttl": "60s", "num_uses": 2})
check(st == 200, "second acme token -> %s" % st)
st, _ = call("GET", "secret/data/tenants/demo/crm/example", other["auth"]["client_token"])
check(st == 403, "acme's token read demo's secret (-> %s)" % st)
st, _ = call("POST", "auth/token/revoke-accessor", PDP, {"accessor": other["auth"]["accessor"]})
st, _ = call("POST", "auth/token/create/" + ROLE, PDP, {"policies": ["tenant.demo.crm-read"]})
check(st >= 400, "acme's token role minted a demo policy (-> %s)" % st)

st, la = call("POST", "auth/token/lookup-accessor", PDP, {"accessor": wi["wrapped_accessor"]})
check(st == 200 and la["data"]["num_uses"] == 1, "lookup-accessor -> %s" % st)
st, _ = call("POST", "auth/token/revoke-accessor", PDP, {"accessor": wi["wrapped_accessor"]})
check(st == 204, "revoke-accessor -> %s" % st)
st, _ = call("POST", "auth/token/lookup-accessor", PDP, {"accessor": wi["wrapped_accessor"]})
check(st >= 400, "accessor still valid after revoke")

# The PDP token must not be able to escalate.
st, _ = call("POST", "auth/token/create/" + ROLE, PDP, {"policies": ["agent-pdp"]})
check(st >= 400, "PDP minted a token with policy agent-pdp")
st, _ = call("POST", "auth/token/create", PDP, {"policies": ["tenant.acme.crm-read"]})
check(st == 403, "PDP could use auth/token/create (-> %s)" % st)

# The audit signing key: the PDP signs and verifies, but cannot read, export, reconfigure or delete it.
import base64
probe = base64.b64encode(b"stack probe").decode()
st, signed = call("POST", "transit/sign/agent-pdp-audit", PDP, {"input": probe})
check(st == 200 and signed["data"]["signature"].startswith("vault:v"), "transit sign -> %s" % st)
st, verified = call("POST", "transit/verify/agent-pdp-audit", PDP,
                    {"input": probe, "signature": signed["data"]["signature"]})
check(st == 200 and verified["data"]["valid"] is True, "transit verify -> %s" % st)
for method, path, body in (("GET", "transit/keys/agent-pdp-audit", None),
                           ("GET", "transit/export/signing-key/agent-pdp-audit", None),
                           ("POST", "transit/keys/agent-pdp-audit/config", {"deletion_allowed": True}),
                           ("POST", "transit/keys/agent-pdp-audit/rotate", {}),
                           ("DELETE", "transit/keys/agent-pdp-audit", None)):
    st, _ = call(method, path, PDP, body)
    check(st == 403, "PDP token may %s %s (-> %s)" % (method, path, st))

# AppRole login yields an agent-pdp token too.
st, login = call("POST", "auth/approle/login", None, {
    "role_id": os.environ["PDP_VAULT_APPROLE_ROLE_ID"],
    "secret_id": os.environ["PDP_VAULT_APPROLE_SECRET_ID"]})
check(st == 200 and "agent-pdp" in login["auth"]["policies"], "approle login -> %s" % st)
call("POST", "auth/token/revoke-self", login["auth"]["client_token"], {})

print("[stack] verify: OpenBao wrap/unwrap/lookup/revoke-accessor/transit/approle ok", file=sys.stderr)
PY

# --- PostgreSQL -----------------------------------------------------------------
port="$PDP_PG_PORT"
out="$(PGPASSWORD=pdp_app "$PDP_PG_BIN_DIR/psql" -X -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" \
  -U pdp_app -d agentpdp -c 'select current_user, rolsuper from pg_roles where rolname = current_user')"
[[ "$out" == "pdp_app|f" ]] || die "pdp_app connection: got '$out'"
out="$(PGPASSWORD=pdp_owner "$PDP_PG_BIN_DIR/psql" -X -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" \
  -U pdp_owner -d agentpdp -c 'begin' -c 'create table stack_probe(id int)' -c 'rollback' \
  -c 'select d.datname, pg_get_userbyid(d.datdba) from pg_database d where datname = current_database()')"
[[ "${out##*$'\n'}" == "agentpdp|pdp_owner" ]] || die "pdp_owner connection: got '$out'"
log "verify: PostgreSQL pdp_app / pdp_owner logins ok"

#!/usr/bin/env python3
"""Helpers for bench/run.sh (python3 standard library only).

  util.py jwt KEY.pem SUB TENANT AUD SCOPE TTL_S         -> RS256 JWT on stdout (signed with openssl)
  util.py bodies OUT_DIR AGENTS                          -> request bodies (JSON lines) for every target; with
                                                            BENCH_SVID_KEY set, each agent presents its JWT-SVID
  util.py svid-bundle KEY.pem OUT.json                   -> the SPIFFE bundle (JWKS) of the bench's EC P-256 SVID key
  util.py reuse-bodies PDP_URL JWT ALLOW.jsonl OUT.jsonl -> one minted ALLOW per body, then bodies naming it (held_credential)
  util.py statement-sql NAME REPO_ROOT OUT.sql [TENANTS] -> the PDP's own SQL (context | audit) for pgbench; with
                                                            TENANTS, over tenants bench-t1..bench-tTENANTS at random
  util.py tenant-bodies OUT_DIR KEY TENANTS AGENTS       -> pdp-deny-tenants.jsonl: TOKEN<TAB>body lines over
                                                            tenants bench-t1..bench-tTENANTS (LoadGen --bearer-per-line)
  util.py pgbench-stats LOG_DIR DURATION_S               -> JSON: throughput and latency percentiles
  util.py prom-sum URL METRIC [LABEL=VALUE ...]          -> sum of a Prometheus series (0 if absent)
  util.py jfr-top JFR_FILE JFR_BIN N                     -> JSON: top frames of jdk.ExecutionSample
  util.py compose RESULTS_DIR OUT_FILE                   -> the final results document
  util.py line STEP.json | table RESULTS.json            -> one-line / markdown summaries
  util.py cpu-report OUT_DIR OUT.json STAMP REPO PG_SETTINGS CONCURRENCY DURATION WARMUP LABEL=JAR...
                                                         -> bench/cpu.sh's report (works on a cut-short run too)
  util.py soak-mix BODIES_DIR REUSE.jsonl OUT.jsonl      -> the soak's mixed bodies (DENY, ALLOW with mint, reuse)
  util.py approvals-loop BASE JWT APPROVER_JWT SECONDS INTERVAL_S OFFSET OUT.json
                                                         -> STEP_UP, approve via the API, retry with the approval
  util.py soak-sample MGMT_BASE MINUTE STEP.json OUT.json -> heap after GC, Hikari, threads, the minute's latency
  util.py soak-report SAMPLES_DIR EXTRA.json OUT.json    -> the soak's checks and report
  util.py timers-snap MGMT_BASE OUT.json                 -> the PDP's DENY decision and dependency timers (sum, count)
  util.py timers-merge STEP.json BEFORE.json AFTER.json  -> adds their means over the step (pdp_timers_mean_ms)
"""
import base64
import glob
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections import Counter

TENANT = "bench"
CALLER = "bench-caller"
TOOLS = ["crm.contacts.read", "crm.contacts.update"]
HOME = ["crm"]
OWNER = "bench-owner"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def cmd_jwt(key, sub, tenant, aud, scope, ttl):
    now = int(time.time())
    header = b64url(json.dumps({"alg": "RS256", "typ": "JWT"}, separators=(",", ":")).encode())
    claims = {"iss": "agent-pdp-bench", "sub": sub, "aud": aud, "iat": now, "nbf": now - 5, "exp": now + int(ttl),
              "tenant_id": tenant, "scope": scope}
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode()
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key, "-binary"], input=signing_input,
                         capture_output=True, check=True).stdout
    print(f"{header}.{payload}.{b64url(sig)}")


# --- JWT-SVIDs (BENCH_SVID=1): one per agent, ES256 as SPIRE signs by default, from the bench's own key --------

SVID_KID = "bench-svid"


def svid_key():
    """(key file, trust domain, audience) when the bench's agents present SVIDs, else None."""
    key = os.environ.get("BENCH_SVID_KEY")
    return (key, os.environ["BENCH_SVID_DOMAIN"], os.environ.get("BENCH_SVID_AUDIENCE", "agent-pdp")) if key else None


def spiffe_id(domain, agent):
    return f"spiffe://{domain}/bench/{agent}"


def der_ecdsa_to_jose(der: bytes) -> bytes:
    """openssl's DER ECDSA signature (SEQUENCE of INTEGER r, s) as JOSE's fixed 64-byte r || s (P-256)."""
    def integer(at):
        assert der[at] == 0x02
        length = der[at + 1]
        return int.from_bytes(der[at + 2:at + 2 + length], "big"), at + 2 + length
    at = 2 if der[1] < 0x80 else 3
    r, at = integer(at)
    s, _ = integer(at)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def svid(key, domain, audience, agent, ttl):
    now = int(time.time())
    header = b64url(json.dumps({"alg": "ES256", "typ": "JWT", "kid": SVID_KID}, separators=(",", ":")).encode())
    claims = {"sub": spiffe_id(domain, agent), "aud": [audience], "iat": now - 5, "exp": now + int(ttl)}
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode()
    der = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key, "-binary"], input=signing_input,
                         capture_output=True, check=True).stdout
    return f"{header}.{payload}.{b64url(der_ecdsa_to_jose(der))}"


def cmd_svid_bundle(key, out):
    """The SPIFFE bundle of the bench's key: a JWKS whose key is a JWT-SVID authority (use jwt-svid)."""
    der = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"], capture_output=True,
                         check=True).stdout
    point = der[-65:]
    assert point[0] == 4, "not an uncompressed P-256 point"
    jwk = {"kty": "EC", "crv": "P-256", "x": b64url(point[1:33]), "y": b64url(point[33:]), "kid": SVID_KID,
           "use": "jwt-svid"}
    with open(out, "w") as f:
        json.dump({"keys": [jwk], "spiffe_refresh_hint": 300}, f)


def decision_request(agent, chain_depth, token=None):
    return {
        "tenant": TENANT,
        "agent": {"id": agent} if token is None else {"id": agent, "workload_identity_token": token},
        "task": {"id": "bench-task", "intent": "benchmark: read one CRM contact", "chain_depth": chain_depth},
        "tool": "crm.contacts.read",
        "action": "read",
        "target": {"system": "crm", "resource": "contacts/42"},
        "data_classification": "internal",
    }


def policy_input(agent, declared_depth, domain=None):
    """What decision.PolicyInput builds for decision_request(agent, declared_depth) of a seeded agent (same key
    order): without a parent the derived depth is 0, and a declared depth other than 0 is DENY chain_mismatch.
    With the SVIDs' trust domain, the agent's identity verified (every tier requires one then)."""
    chain_depth = 0
    identity = {"verified": False, "required": False, "spiffe_id": None, "trust_domain": None, "reason": "missing"} \
        if domain is None else \
        {"verified": True, "required": True, "spiffe_id": spiffe_id(domain, agent), "trust_domain": domain, "reason": None}
    return {"input": {
        "tenant": TENANT,
        "caller": {"subject": CALLER, "tenant": TENANT, "scopes": ["decide"]},
        "agent": {"id": agent, "registered": True, "enabled": True, "owner": OWNER, "allowed_tools": TOOLS,
                  "home_systems": HOME, "max_chain_depth": None, "workload_identity": identity},
        "task": {"id": "bench-task", "intent": "benchmark: read one CRM contact", "chain_depth": chain_depth,
                 "declared_chain_depth": declared_depth, "parent_decision_id": None, "parent_known": True},
        "tool": {"name": "crm.contacts.read", "registered": True, "target_system": "crm", "targets_system": True,
                 "action_kinds": ["read"], "risk_tier": "low", "read_only": True, "destructive": False,
                 "credential_profile": {"name": "bench-reader", "kind": "token", "grantable": ["tenant.bench.crm-read"],
                                        "per_agent": False, "max_ttl_seconds": 300, "max_uses": 10}},
        "action": {"kind": "read"},
        "target": {"system": "crm", "resource": "contacts/42"},
        "classification": {"declared": "internal", "stored": "internal", "effective": "internal"},
        "approval": None,
        "quarantine": {"active": False},
        "context": {},
    }}


def token_create(agent, i):
    """What CredentialIssuer.issue posts for the ALLOW (low_risk_read with the tool's credential profile
    bench-reader: tenant.bench.crm-read, 300 s, 10 uses), through the tenant's token role agent-pdp.bench."""
    return {"policies": ["tenant.bench.crm-read"], "ttl": "300s", "explicit_max_ttl": "300s", "num_uses": 10,
            "renewable": False, "display_name": "agent-" + agent,
            "meta": {"tenant": TENANT, "agent": agent, "task": "bench-task",
                     "decision": "00000000-0000-4000-8000-%012d" % i}}


# --- scoped credentials (issue 15): decide + dynamic secret against raw database/creds ----------------------

def credential_bodies(names, tokens=None):
    """db.query decisions: ALLOW low_risk_read with the dynamic profile bench-db (a PostgreSQL login, 120 s)."""
    def db_query(agent):
        body = decision_request(agent, 0, (tokens or {}).get(agent))
        body["tool"] = "db.query"
        body["target"] = {"system": "crm", "resource": "contacts"}
        return body
    return {"pdp-dynamic.jsonl": [db_query(a) for a in names]}


def credential_ratios(thr):
    """The issue-15 ratios: a decision with a scoped mint, and with a dynamic secret, against the raw OpenBao call."""
    scoped = ratio(thr("peak_pdp_allow"), thr("peak_vault_create"))
    dynamic = ratio(thr("peak_pdp_dynamic"), thr("peak_vault_dbcreds"))
    return {
        "pdp_allow_with_scoped_mint_over_raw_token_create_same_policies_throughput": scoped,
        "pdp_allow_with_dynamic_secret_over_raw_database_creds_throughput": dynamic,
        "note": "Same policies (tenant.bench.crm-read through token role agent-pdp.bench) for the token pair; the "
                "dynamic pair reads database/creds/bench.crm-read (PostgreSQL CREATE ROLE per call), and the PDP also "
                "sets the lease to the decided TTL (sys/leases/renew) and wraps it (sys/wrapping/wrap).",
    }


def cmd_bodies(out, agents):
    agents = int(agents)
    os.makedirs(out, exist_ok=True)
    names = [f"bench-agent-{i}" for i in range(1, agents + 1)]
    svids = svid_key()
    # Valid for the longest bench (a soak with its warm-up); the bench's PDPs accept that lifetime (lib.sh).
    tokens = {a: svid(svids[0], svids[1], svids[2], a, 6 * 3600) for a in names} if svids else {}
    domain = svids[1] if svids else None
    files = {
        # chain_depth 6 claimed without a parent (the PDP derives 0): DENY chain_mismatch, no credential, no
        # quarantine request; OPA gets the same input the PDP builds for it.
        "pdp-deny.jsonl": [decision_request(a, 6, tokens.get(a)) for a in names],
        # chain_depth 0, read of an internal resource: ALLOW low_risk_read, mints a wrapped token.
        "pdp-allow.jsonl": [decision_request(a, 0, tokens.get(a)) for a in names],
        "opa-deny.jsonl": [policy_input(a, 6, domain) for a in names],
        "opa-allow.jsonl": [policy_input(a, 0, domain) for a in names],
        "vault-create.jsonl": [token_create(a, i) for i, a in enumerate(names)],
    }
    files.update(credential_bodies(names, tokens))
    for name, docs in files.items():
        with open(os.path.join(out, name), "w") as f:
            for d in docs:
                f.write(json.dumps(d, separators=(",", ":")) + "\n")


def cmd_tenant_bodies(out, key, tenants, agents):
    """DENY bodies spread round robin over tenants bench-t1..bench-tN (agents bench-agent-1..A in each), each line
    TOKEN<TAB>body with a token of that body's tenant."""
    import contextlib
    import io
    tenants, agents = int(tenants), int(agents)
    tokens = {}
    for t in range(1, tenants + 1):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            cmd_jwt(key, CALLER, f"bench-t{t}", "agent-pdp", "decide", 7200)
        tokens[t] = buf.getvalue().strip()
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, f"pdp-deny-tenants{tenants}.jsonl"), "w") as f:
        for i in range(agents):
            t = i % tenants + 1
            body = dict(decision_request(f"bench-agent-{i + 1}", 6), tenant=f"bench-t{t}")
            f.write(tokens[t] + "\t" + json.dumps(body, separators=(",", ":")) + "\n")


def percentile(sorted_values, p):
    if not sorted_values:
        return 0.0
    import math
    rank = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[min(len(sorted_values), rank) - 1]


def cmd_pgbench_stats(log_dir, duration):
    # Per-transaction log: client_id transaction_no time script_no time_epoch time_us [schedule_lag].
    # With --rate, pgbench measures `time` from the scheduled start (lag included).
    lat = []
    for path in glob.glob(os.path.join(log_dir, "pgbench_log.*")):
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and parts[2] not in ("skipped", "failed"):
                    lat.append(int(parts[2]))
    lat.sort()
    ms = lambda us: round(us / 1000.0, 3)
    print(json.dumps({
        "requests": len(lat),
        "throughput_rps": round(len(lat) / float(duration), 3),
        "latency_ms": {"p50": ms(percentile(lat, 50)), "p90": ms(percentile(lat, 90)), "p99": ms(percentile(lat, 99)),
                       "p999": ms(percentile(lat, 99.9)), "max": ms(lat[-1] if lat else 0),
                       "mean": ms(sum(lat) / len(lat) if lat else 0)},
    }))


def prom_series_sum(text, metric, labels):
    """The sum of METRIC's series in Prometheus text whose labels include every LABEL=VALUE pair of LABELS (a
    dict); None when no series matches."""
    total = None
    for line in text.splitlines():
        if not line.startswith(metric):
            continue
        name_part, _, value = line.rpartition(" ")
        if name_part.split("{", 1)[0] != metric:
            continue
        if all(f'{k}="{v}"' in name_part for k, v in labels.items()):
            total = (total or 0.0) + float(value)
    return total


def cmd_prom_sum(url, metric, *labels):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            text = r.read().decode()
    except Exception as e:  # noqa: BLE001
        print(f"error: {e}", file=sys.stderr)
        print("null")
        return
    total = prom_series_sum(text, metric, dict(l.split("=", 1) for l in labels)) or 0.0
    print(int(total) if total == int(total) else total)


# Inclusive categories for the JFR samples: a sample counts for every category whose marker is on its stack.
CATEGORIES = [
    ("jwt_decode_and_rsa_verify", ("org.springframework.security.oauth2.jwt.", "com.nimbusds.")),
    ("spring_security_filter_chain", ("org.springframework.security.",)),
    ("bean_validation", ("org.hibernate.validator.",)),
    ("json_jackson", ("tools.jackson.", "com.fasterxml.jackson.")),
    ("opa_call_PolicyEngine", ("io.agentpdp.policy.PolicyEngine",)),
    ("vault_call_CredentialIssuer", ("io.agentpdp.credential.",)),
    ("jdk_http_client", ("jdk.internal.net.http.", "java.net.http.")),
    ("context_select_DecisionContextLoader", ("io.agentpdp.decision.DecisionContextLoader",)),
    ("audit_insert_AuditTrail", ("io.agentpdp.audit.AuditTrail",)),
    ("jdbc_pgjdbc_hikari", ("org.postgresql.", "com.zaxxer.hikari.")),
    ("metrics_micrometer", ("io.micrometer.core.",)),
    ("tracing", ("io.micrometer.tracing.", "io.opentelemetry.", "brave.")),
    ("logging", ("ch.qos.logback.", "org.slf4j.", "org.apache.logging.")),
    ("tomcat", ("org.apache.catalina.", "org.apache.coyote.", "org.apache.tomcat.")),
    ("spring_mvc", ("org.springframework.web.",)),
    ("DecisionService_total", ("io.agentpdp.decision.DecisionService",)),
]


# Exclusive layers: a sample belongs to the innermost frame that matches one of these (first match per frame).
LAYERS = [
    ("jackson", ("tools.jackson.", "com.fasterxml.jackson.")),
    ("pgjdbc_hikari", ("org.postgresql.", "com.zaxxer.hikari.")),
    ("jdk_http_client", ("jdk.internal.net.http.", "java.net.http.")),
    ("jwt_nimbus_spring_jwt", ("com.nimbusds.", "org.springframework.security.oauth2.jwt.")),
    ("hibernate_validator", ("org.hibernate.validator.",)),
    ("micrometer_tracing_otel", ("io.micrometer.tracing.", "io.opentelemetry.")),
    ("micrometer_observation", ("io.micrometer.observation.",)),
    ("micrometer_core", ("io.micrometer.core.",)),
    ("logback_slf4j", ("ch.qos.logback.", "org.slf4j.")),
    ("spring_jdbc", ("org.springframework.jdbc.",)),
    ("agentpdp_own_code", ("io.agentpdp.",)),
    ("spring_security", ("org.springframework.security.",)),
    ("spring_web_mvc", ("org.springframework.web.", "org.springframework.http.")),
    ("spring_other", ("org.springframework.",)),
    ("tomcat", ("org.apache.catalina.", "org.apache.coyote.", "org.apache.tomcat.")),
    ("jdk_crypto_bigint(rsa verify)", ("java.math.", "sun.security.", "java.security.")),
]


def cmd_jfr_top(jfr_file, jfr_bin, n):
    n = int(n)
    out = subprocess.run([jfr_bin, "print", "--json", "--stack-depth", "300", "--events", "jdk.ExecutionSample", jfr_file],
                         capture_output=True, text=True, check=True).stdout
    events = json.loads(out)["recording"]["events"]
    top, ours, cats, layers, threads = Counter(), Counter(), Counter(), Counter(), Counter()

    def tname(fr):
        return fr["method"]["type"]["name"].replace("/", ".")

    for e in events:
        frames = (e.get("values", {}).get("stackTrace") or {}).get("frames") or []
        if not frames:
            continue
        types = [tname(fr) for fr in frames]
        top[types[0] + "." + frames[0]["method"]["name"]] += 1
        for fr, t in zip(frames, types):  # innermost frame of our own code (where our code spends/calls)
            if t.startswith("io.agentpdp."):
                ours[t.split("$$")[0] + "." + fr["method"]["name"]] += 1
                break
        seen = set()
        for cat, markers in CATEGORIES:
            if any(t.startswith(m) for t in types for m in markers):
                seen.add(cat)
        if not seen:
            seen.add("other")
        for c in seen:
            cats[c] += 1
        layer = None
        for t in types:
            layer = next((name for name, ms in LAYERS if any(t.startswith(m) for m in ms)), None)
            if layer:
                break
        layers[layer or "jdk_only"] += 1
        th = (e.get("values", {}).get("sampledThread") or {}).get("javaName") or ""
        threads["virtual/unnamed" if not th else th.rstrip("0123456789")] += 1
    total = len([e for e in events if (e.get("values", {}).get("stackTrace") or {}).get("frames")]) or 1
    pct = lambda c, k: [{"method": m, "samples": v, "percent": round(100.0 * v / total, 1)} for m, v in c.most_common(k)]
    share = lambda c: [{"name": m, "samples": v, "percent": round(100.0 * v / total, 1)} for m, v in c.most_common()]
    print(json.dumps({"samples": total,
                      "exclusive_layers": share(layers),
                      "threads": share(threads)[:12],
                      "inclusive_categories": [{"category": m, "samples": v, "percent": round(100.0 * v / total, 1)}
                                               for m, v in cats.most_common()],
                      "top_self_frames": pct(top, n),
                      "innermost_agentpdp_frame": pct(ours, n)}))


def cmd_reuse_bodies(url, jwt, allow_bodies, out):
    """Per-task credential reuse: one ALLOW (mint) per agent through the PDP, then the same request naming
    the credential that decision issued (held_credential). Prints how many credentials were seeded."""
    import concurrent.futures
    import http.client
    import threading
    import urllib.parse
    u = urllib.parse.urlsplit(url)
    local = threading.local()

    def decide(line):
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        for attempt in range(5):
            local.conn.request("POST", u.path, body=line.encode(), headers={
                "Authorization": "Bearer " + jwt, "Content-Type": "application/json"})
            resp = local.conn.getresponse()
            answer = json.loads(resp.read())
            if resp.status == 200 and (answer.get("credential") or {}).get("type") == "wrapped_token":
                break
            # A DENY policy_engine_timeout on a saturated machine is retried; anything else four more times too.
            time.sleep(0.2)
        else:
            raise SystemExit(f"reuse seeding: expected a minted credential, got HTTP {resp.status}: {answer}")
        body = json.loads(line)
        body["held_credential"] = {"decision_id": answer["decision_id"]}
        return json.dumps(body, separators=(",", ":"))

    with open(allow_bodies) as f:
        lines = [l.strip() for l in f if l.strip()]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        bodies = list(pool.map(decide, lines))
    with open(out, "w") as f:
        for b in bodies:
            f.write(b + "\n")
    print(len(bodies))


# The PDP's two statements per decision, read from its source (no copy to drift), with the bench's values
# bound as the PDP binds them for the DENY path: (source file, method, bindings of every named parameter).
BENCH_AGENT = "('bench-agent-' || cast(:a as text))"   # pgbench variable :a, a random agent per transaction
STATEMENTS = {
    "context": ("src/main/java/io/agentpdp/decision/DecisionContextLoader.java", ("NamedStatement CONTEXT =", "DecisionContext load("), {
        "tenant": "'bench'", "agent": BENCH_AGENT, "tool": "'crm.contacts.read'", "system": "'crm'",
        "resource": "'contacts/42'", "systemFolded": "'crm'", "resourceFolded": "'contacts/42'",
        "approval": "null", "held": "null", "denyMillis": "60000", "rateMillis": "60000",
        "policyCause": "'policy'", "refused": "'request_refused'", "principal": "'bench-caller'",
        "task": "'bench-task'", "parent": "null", "refusalCause": "'refusal'"}),
    # A DENY: no credential. :content has the length of AuditChain.content for such a record.
    "audit": ("src/main/java/io/agentpdp/audit/AuditTrail.java", ("NamedStatement RECORD_DECISION =", "Result recordDecision("), {
        "id": "gen_random_uuid()", "tenant": "'bench'", "agent": BENCH_AGENT, "task": "'bench-task'",
        "parent": "null", "depth": "0", "tool": "'crm.contacts.read'", "action": "'read'", "system": "'crm'",
        "resource": "'contacts/42'", "declared": "'internal'", "stored": "'internal'", "effective": "'internal'",
        "outcome": "'DENY'", "reasons": "array['chain_mismatch']", "cause": "'policy'",
        "obligations": "array[]::text[]",
        "approval": "null", "revision": "'55c12bb9044a1807'", "caller": "'bench-caller'", "accessorHash": "null",
        "content": "repeat('c', 343)", "ttl": "null", "expiresAt": "null", "uses": "null", "wrapped": "null",
        "reusedFrom": "null", "traceId": "'0af7651916cd43dd8448eb211c80319c'", "decidedAt": "now()",
        "identityVerified": "true", "spiffeId": "'spiffe://agent-pdp.test/agents/bench-agent'",
        "accessor": "null", "policies": "array[]::text[]"}),
}


def cmd_statement_sql(name, repo, out, tenants=None):
    import re
    import textwrap
    path, markers, bindings = STATEMENTS[name]
    if tenants is not None:
        # pgbench variable :t, a random tenant of bench-t1..bench-tN per transaction
        bindings = dict(bindings, tenant="('bench-t' || cast(:t as text))")
    src = open(os.path.join(repo, path)).read()
    # The statement's constant, or (in sources before NamedStatement, e.g. tenants.sh's legacy statement) the
    # first text block after the method's signature.
    method = next(m for m in markers if m in src)
    block = src.index('"""', src.index(method)) + len('"""')
    sql = textwrap.dedent(src[block:src.index('"""', block)]).strip()
    unbound = []

    def bind(m):
        if m.group(1) not in bindings:
            unbound.append(m.group(1))
        return bindings.get(m.group(1), m.group(0))
    # :name, but not the ::type of a cast
    sql = re.sub(r"(?<![:\w]):([A-Za-z]\w*)", bind, sql)
    if unbound:
        raise SystemExit(f"statement-sql {name}: {path} has parameters the bench does not bind: {unbound}")
    with open(out, "w") as f:
        f.write(f"-- Generated by bench/util.py statement-sql from {path} ({method.strip('(')}); do not edit.\n")
        f.write("\\set a random(1, :agents)\n" + ("" if tenants is None else f"\\set t random(1, {int(tenants)})\n")
                + sql + ";\n")


def load(path):
    with open(path) as f:
        return json.load(f)


def ratio(a, b):
    return None if not a or not b else round(a / b, 3)


def cmd_compose(results_dir, out_file):
    """Reads the step files written by run.sh (results_dir/*.json) and builds the report."""
    r = {}
    for p in glob.glob(os.path.join(results_dir, "*.json")):
        try:
            r[os.path.basename(p)[:-5]] = load(p)
        except Exception as e:  # noqa: BLE001
            r[os.path.basename(p)[:-5]] = {"error": str(e)}
    g = lambda k: r.get(k) or {}
    thr = lambda k: g(k).get("throughput_rps")
    lat = lambda k, p: (g(k).get("latency_ms") or {}).get(p)

    added_p50 = None if lat("rate_pdp_deny", "p50") is None or lat("rate_opa_deny", "p50") is None \
        else round(lat("rate_pdp_deny", "p50") - lat("rate_opa_deny", "p50"), 3)
    added_p99 = None if lat("rate_pdp_deny", "p99") is None or lat("rate_opa_deny", "p99") is None \
        else round(lat("rate_pdp_deny", "p99") - lat("rate_opa_deny", "p99"), 3)
    deny_vs_opa = ratio(thr("peak_pdp_deny"), thr("peak_opa_deny"))
    mint_vs_vault = ratio(thr("peak_pdp_allow"), thr("peak_vault_create"))
    reuse_vs_opa = ratio(thr("peak_pdp_reuse"), thr("peak_opa_deny"))
    reuse_vs_vault = ratio(thr("peak_pdp_reuse"), thr("peak_vault_create"))
    vault = g("vault_calls_during_deny")
    scaling = {}
    for n in (1, 2, 3):
        k = "peak_pdp_deny" if n == 1 else f"peak_pdp_deny_x{n}"
        if thr(k) is not None:
            scaling[str(n)] = {"instances": n, "throughput_rps": thr(k),
                               "per_instance_rps": round(thr(k) / n, 1),
                               "latency_ms": g(k).get("latency_ms")}
    base = (scaling.get("1") or {}).get("throughput_rps")
    for v in scaling.values():
        v["speedup_vs_1"] = ratio(v["throughput_rps"], base)

    # On a saturated machine peak throughput ~ cores / (CPU ms per request of every process involved), so
    # the throughput ratios follow from the CPU accounting, and so does their ceiling with a PDP that cost
    # nothing: what limits the ratio on this machine, measured.
    def cpu_per_request(k, without=()):
        c = g(k).get("cpu")
        if not c:
            return None
        total = c["load_generator"]["cpu_ms_per_request"]
        total += sum(v["cpu_ms_per_request"] for n, v in c["components"].items() if n not in without)
        return round(total, 3)

    def pdp_cpu(k):
        c = g(k).get("cpu")
        return None if not c else c["components"].get("pdp", {}).get("cpu_ms_per_request")

    limits = {
        "cpu_ms_per_request_all_processes": {k: cpu_per_request(k) for k in
                                             ("peak_opa_deny", "peak_pdp_deny", "peak_vault_create", "peak_pdp_allow",
                                              "peak_pdp_reuse")},
        "pdp_cpu_ms_per_request": {"deny": pdp_cpu("peak_pdp_deny"), "allow": pdp_cpu("peak_pdp_allow"),
                                   "allow_reuse": pdp_cpu("peak_pdp_reuse")},
        "deny_over_opa_ceiling_with_zero_cost_pdp": ratio(cpu_per_request("peak_opa_deny"),
                                                           cpu_per_request("peak_pdp_deny", without=("pdp",))),
        "allow_over_create_ceiling_with_zero_cost_pdp": ratio(cpu_per_request("peak_vault_create"),
                                                               cpu_per_request("peak_pdp_allow", without=("pdp",))),
    }

    dur = g("durability")
    doc = {
        "meta": g("meta"),
        "durability": dur,
        "label": "durable" if dur.get("durable") else "NON-DURABLE (fsync off or OpenBao -dev): not production figures",
        "peak_closed_loop": {k[5:]: g(k) for k in sorted(r) if k.startswith("peak_")},
        "constant_rate": {k[5:]: g(k) for k in sorted(r) if k.startswith("rate_")},
        "database": {k[3:]: g(k) for k in sorted(r) if k.startswith("db_")},
        "scaling_deny_peak": scaling,
        "vault_calls_during_deny": vault,
        "cpu_limits": limits,
        "profile": g("profile"),
        "ratios": {
            "pdp_deny_over_raw_opa_throughput": {"value": deny_vs_opa, "goal": ">= 0.5",
                                                 "met": None if deny_vs_opa is None else deny_vs_opa >= 0.5},
            "added_p50_ms_over_raw_opa_at_half_pdp_peak": {"value": added_p50, "goal": "<= 0.4",
                                                            "met": None if added_p50 is None else added_p50 <= 0.4},
            "added_p99_ms_over_raw_opa_at_half_pdp_peak": {"value": added_p99, "goal": "<= 1.0",
                                                            "met": None if added_p99 is None else added_p99 <= 1.0},
            "pdp_allow_with_mint_over_raw_token_create_throughput": {
                "value": mint_vs_vault, "goal": ">= 0.85",
                "met": None if mint_vs_vault is None else mint_vs_vault >= 0.85},
            "deny_path_makes_no_vault_call": {"value": vault.get("no_vault_call"), "goal": "true",
                                              "met": vault.get("no_vault_call")},
        },
        # Per-task credential reuse: an ALLOW that confirms the credential the task holds (no Vault call).
        # No goal of its own; it is the "ALLOW without credential" path and the alternative to a mint.
        "scoped_credentials": credential_ratios(thr),
        "reuse": {
            "pdp_allow_reuse_over_raw_opa_throughput": reuse_vs_opa,
            "pdp_allow_reuse_over_raw_token_create_throughput": reuse_vs_vault,
            "pdp_allow_reuse_over_pdp_allow_mint_throughput": ratio(thr("peak_pdp_reuse"), thr("peak_pdp_allow")),
            "reuse_path_makes_no_vault_call": vault.get("reuse_no_vault_call"),
        },
        "notes": [
            "The DENY path (chain_mismatch: a depth claimed without a parent) is the PDP without a mint, the ALLOW path (low_risk_read) the PDP with a mint, "
            "the reuse path (the same ALLOW naming the credential its task holds, held_credential) an ALLOW without a new "
            "credential: it confirms one minted earlier, without a Vault call. Its ratio is reported separately and is not "
            "counted towards the mint goal.",
            "Peak = closed loop (fixed concurrency, back to back). Constant rate = open model, wrk2 style: latency from the "
            "intended send time (coordinated omission corrected).",
            "Load generator, PDP(s), OPA, OpenBao and PostgreSQL share the same machine; absolute numbers are lower bounds.",
            "Quarantine thresholds are raised for the bench instances (PDP_QUARANTINE_DENY_THRESHOLD / "
            "PDP_QUARANTINE_RATE_THRESHOLD = 1e9): otherwise 5 DENYs or more than 120 decisions per agent and minute "
            "quarantine the agent and every later decision is a cheap 'quarantined' DENY without OPA.",
        ],
    }
    with open(out_file, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


def cmd_line(path):
    d = load(path)
    if "throughput_rps" not in d:
        print(f"[bench]   {os.path.basename(path)[:-5]:<26} ERROR {d.get('error')}")
        return
    l = d["latency_ms"]
    err = f"  ({d['first_error'][:160]})" if d.get("first_error") else ""
    cpu = ""
    if d.get("cpu"):
        c = d["cpu"]
        cpu = "  cpu/req ms: " + " ".join(f"{k} {v['cpu_ms_per_request']:.2f}" for k, v in c["components"].items()) \
              + f" client {c['load_generator']['cpu_ms_per_request']:.2f}; other procs {c['other_processes_cores']:.2f} cores"
        if c.get("pdp_threads_cpu_ms_per_request"):
            cpu += " (pdp: " + " ".join(f"{k} {v:.2f}" for k, v in sorted(c["pdp_threads_cpu_ms_per_request"].items())) + ")"
    print(f"[bench]   {d.get('name', ''):<26} {d['throughput_rps']:>9.1f} /s  p50 {l['p50']:.3f}  p99 {l['p99']:.3f}"
          f"  p99.9 {l['p999']:.3f} ms  errors {d.get('errors', 0)}{cpu}{err}")


def cmd_table(path):
    """Markdown summary of a results document (also used for bench/README.md)."""
    doc = load(path)
    m = doc.get("meta", {})
    mach = m.get("machine", {})
    print(f"Run {m.get('timestamp_utc')} on {mach.get('nproc')} x {mach.get('cpu_model')}, {mach.get('mem_total')}; "
          f"commit {m.get('git_commit')}{' (dirty)' if m.get('git_dirty_src') else ''}; {m.get('elapsed_s')} s")
    print(durability_line(doc) + "\n")
    print("| measurement | mode | target /s | throughput /s | p50 ms | p99 ms | p99.9 ms | errors |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")

    def row(label, d, mode):
        if not d or "throughput_rps" not in d:
            print(f"| {label} | {mode} | | ERROR {(d or {}).get('error', 'missing')} | | | | |")
            return
        l = d["latency_ms"]
        tgt = d.get("target_rps")
        extra = f" (c={d['concurrency']})" if mode == "closed" and d.get("concurrency") else ""
        print(f"| {label}{extra} | {mode} | {'' if tgt is None else round(tgt)} | {d['throughput_rps']:.0f} | "
              f"{l['p50']:.2f} | {l['p99']:.2f} | {l['p999']:.2f} | {d.get('errors', 0)} |")

    pk, rt, db = doc.get("peak_closed_loop", {}), doc.get("constant_rate", {}), doc.get("database", {})
    for k, label in (("opa_deny", "raw OPA (DENY input)"), ("pdp_deny", "PDP DENY (no mint)"),
                     ("pdp_reuse", "PDP ALLOW (credential reuse, no mint)"),
                     ("pdp_allow", "PDP ALLOW (mint)"), ("vault_create", "raw OpenBao token create (wrapped)"),
                     ("pdp_deny_x2", "PDP DENY, 2 instances"), ("pdp_deny_x3", "PDP DENY, 3 instances")):
        if k in pk:
            row(label, pk[k], "closed")
    for k, label in (("pdp_deny", "PDP DENY (no mint)"), ("opa_deny", "raw OPA (DENY input)"),
                     ("pdp_reuse", "PDP ALLOW (credential reuse, no mint)"),
                     ("pdp_allow", "PDP ALLOW (mint)"), ("vault_create", "raw OpenBao token create")):
        if k in rt:
            row(label, rt[k], "rate")
    for k, label, mode in (("peak_context_select", "DB: context SELECT", "closed"),
                           ("peak_audit_insert", "DB: audit INSERT (DENY)", "closed"),
                           ("peak_decision_both", "DB: SELECT + INSERT", "closed"),
                           ("rate_decision_both", "DB: SELECT + INSERT", "rate")):
        if k in db:
            d = dict(db[k])
            if mode == "rate":
                d["target_rps"] = (rt.get("pdp_deny") or {}).get("target_rps")
            row(label, d, mode)
    print("\n| ratio | value | goal | met |")
    print("|---|---:|---|---|")
    for k, v in doc.get("ratios", {}).items():
        print(f"| {k} | {v.get('value')} | {v.get('goal')} | {v.get('met')} |")
    reuse = doc.get("reuse") or {}
    if reuse:
        print("\n| per-task credential reuse (no goal) | value |")
        print("|---|---:|")
        for k, v in reuse.items():
            print(f"| {k} | {v} |")
    lim = doc.get("cpu_limits") or {}
    if lim:
        print("\nCPU per request, all processes incl. the load generator (ms): "
              + ", ".join(f"{k} {v}" for k, v in (lim.get("cpu_ms_per_request_all_processes") or {}).items())
              + f"; the PDP's own share: {lim.get('pdp_cpu_ms_per_request')}.")
        print(f"Throughput-ratio ceilings if the PDP process cost no CPU at all: DENY/raw OPA "
              f"{lim.get('deny_over_opa_ceiling_with_zero_cost_pdp')}, ALLOW+mint/raw token create "
              f"{lim.get('allow_over_create_ceiling_with_zero_cost_pdp')}.")
    prof = doc.get("profile") or {}
    if prof.get("exclusive_layers"):
        print(f"\nJFR of PDP #1 during the DENY peak ({prof.get('samples')} execution samples), innermost layer per sample:\n")
        print("| layer | % of samples |")
        print("|---|---:|")
        for x in prof["exclusive_layers"][:16]:
            print(f"| {x['name']} | {x['percent']} |")
    cpu_rows = [(k, v) for k, v in list(pk.items()) + [("rate_" + k, v) for k, v in rt.items()] if v.get("cpu")]
    if cpu_rows:
        print("\n| run | CPU ms/request: PDP | OPA | OpenBao | PostgreSQL | load generator | other processes (cores) |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for k, v in cpu_rows:
            c = v["cpu"]; comp = c["components"]
            g = lambda n: comp.get(n, {}).get("cpu_ms_per_request", 0)
            print(f"| {k} | {g('pdp'):.2f} | {g('opa'):.2f} | {g('openbao'):.2f} | {g('postgres'):.2f} | "
                  f"{c['load_generator']['cpu_ms_per_request']:.2f} | {c['other_processes_cores']:.2f} |")
    sc = doc.get("scaling_deny_peak", {})
    if sc:
        print("\n| PDP instances | aggregate DENY peak /s | per instance /s | vs 1 |")
        print("|---:|---:|---:|---:|")
        for n, v in sorted(sc.items()):
            print(f"| {n} | {v['throughput_rps']:.0f} | {v['per_instance_rps']:.0f} | {v.get('speedup_vs_1')} |")


CLK_TCK = os.sysconf("SC_CLK_TCK")


def stat_fields(path):
    """(name, fields after the name) of a /proc stat file; None if it is gone."""
    try:
        with open(path) as f:
            raw = f.read()
        return raw[raw.index("(") + 1:raw.rindex(")")], raw.rsplit(")", 1)[1].split()
    except (OSError, ValueError):
        return None


def stat_ticks(path):
    """(name, utime + stime) of a /proc stat file (a process: all its threads; a task: that thread); None if gone."""
    stat = stat_fields(path)
    try:
        return (stat[0], int(stat[1][11]) + int(stat[1][12])) if stat else None
    except (IndexError, ValueError):
        return None


def proc_ticks(pid):
    stat = stat_ticks(f"/proc/{pid}/stat")
    return stat[1] if stat else 0


def reaped_children_ticks(pid):
    """cutime + cstime: the CPU of the children a process has reaped (a PostgreSQL backend or autovacuum worker
    that exited); without it a tree's total falls when a child exits."""
    stat = stat_fields(f"/proc/{pid}/stat")
    try:
        return int(stat[1][13]) + int(stat[1][14]) if stat else 0
    except (IndexError, ValueError):
        return 0


def children(ppid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            stat = stat_fields(f"/proc/{d}/stat")
            try:
                if stat and int(stat[1][1]) == int(ppid):
                    out.append(int(d))
            except (IndexError, ValueError):
                pass
    return out


# The PDP's threads by what they do (Linux truncates a thread's name to 15 characters).
THREAD_GROUPS = (("gc", ("GC Thread", "G1 ", "VM Thread", "VM Periodic")), ("jit", ("C1 Compiler", "C2 Compiler")),
                 ("carriers", ("ForkJoinPool-",)), ("tomcat", ("http-nio-",)))


def thread_ticks(pid):
    """{tid: [group, utime + stime]} for the live threads of one process."""
    threads = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return threads
    for tid in tids:
        stat = stat_ticks(f"/proc/{pid}/task/{tid}/stat")
        if stat is None:
            continue
        name, ticks = stat
        group = next((g for g, prefixes in THREAD_GROUPS if name.startswith(prefixes)), None)
        if group is None:
            group = "other:" + re.sub(r"[0-9]+", "#", name) if os.environ.get("BENCH_THREAD_NAMES") == "1" else "other"
        threads[tid] = [group, ticks]
    return threads


def thread_group_deltas(before, after, total):
    """Ticks per thread group between two thread_ticks snapshots. A thread's CPU counts from the first snapshot
    (or from its start); a thread that ended in between took its ticks with it (idle request threads end after
    60 s), so what the process used beyond its live threads' deltas is reported as "exited", never as a
    negative share of its group."""
    groups = {}
    for tid, (group, ticks) in after.items():
        start = before.get(tid)
        delta = ticks - start[1] if start and start[0] == group else ticks
        groups[group] = groups.get(group, 0) + max(0, delta)
    exited = total - sum(groups.values())
    if exited > 0:
        groups["exited"] = exited
    return groups


def cmd_cpu_snap(out, *specs):
    """specs: NAME=PID[,PID...]; a PID written tree:PID also counts its direct children (PostgreSQL backends),
    live ones and those it reaped (cutime + cstime)."""
    comps = {}
    for spec in specs:
        name, pids = spec.split("=", 1)
        total = 0
        for p in pids.split(","):
            if not p:
                continue
            if p.startswith("tree:"):
                root = p[5:]
                total += proc_ticks(root) + reaped_children_ticks(root) + sum(proc_ticks(c) for c in children(root))
            else:
                total += proc_ticks(p)
        comps[name] = total
    threads = {}
    for spec in specs:
        name, pids = spec.split("=", 1)
        if name == "pdp":
            for p in filter(None, pids.split(",")):
                threads.update(thread_ticks(p))
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    idle = cpu[3] + cpu[4]
    json.dump({"t": time.monotonic(), "busy": sum(cpu) - idle, "comps": comps, "pdp_threads": threads}, open(out, "w"))


def cmd_cpu_merge(step, before, after):
    """Adds CPU use during the step: per component cores and ms per request, the load generator's share,
    and the CPU used by everything else on the machine (other users' work contaminates a run)."""
    d, a, b = load(step), load(before), load(after)
    if "requests_total" not in d:
        return
    secs = b["t"] - a["t"]
    ms = lambda ticks: ticks * 1000.0 / CLK_TCK
    n = max(1, d.get("requests_total") or 0)
    comps = {}
    ours = 0.0
    for name in b["comps"]:
        t = ms(b["comps"][name] - a["comps"].get(name, 0))
        ours += t
        comps[name] = {"cores": round(t / 1000.0 / secs, 2), "cpu_ms_per_request": round(t / n, 3)}
    client = d.get("client_cpu_ms_total") or 0.0
    busy = ms(b["busy"] - a["busy"])
    pdp_total = b["comps"].get("pdp", 0) - a["comps"].get("pdp", 0)
    pdp_threads = {g: round(ms(t) / n, 3) for g, t in
                   thread_group_deltas(a.get("pdp_threads", {}), b.get("pdp_threads", {}), pdp_total).items()}
    d["cpu"] = {"window_s": round(secs, 1), "requests": n, "components": comps,
                "pdp_threads_cpu_ms_per_request": pdp_threads,
                "load_generator": {"cores": round(client / 1000.0 / secs, 2), "cpu_ms_per_request": round(client / n, 3)},
                "machine_busy_cores": round(busy / 1000.0 / secs, 2),
                "other_processes_cores": round(max(0.0, busy - ours - client) / 1000.0 / secs, 2)}
    json.dump(d, open(step, "w"))


# --- durability and the tenant contention runs (bench/tenants.sh, run.sh) -----------------------------------------
def cmd_durability(out):
    """PostgreSQL's three durability settings, OpenBao's storage type and the data disk's fsync latency
    (pg_test_fsync, 1 s per method, on the file system of the PostgreSQL data directory). Environment: the stack's."""
    import re
    e = os.environ
    psql = [os.path.join(e["PDP_PG_BIN_DIR"], "psql"), "-X", "-At", "-h", "127.0.0.1", "-p", e["PDP_PG_PORT"],
            "-U", e["SPRING_FLYWAY_USER"], "-d", "agentpdp", "-c",
            "select current_setting('fsync') || ' ' || current_setting('synchronous_commit') || ' '"
            " || current_setting('full_page_writes') || ' ' || current_setting('wal_sync_method')"]
    env = dict(e, PGPASSWORD=e["SPRING_FLYWAY_PASSWORD"])
    fsync, sync_commit, fpw, method = subprocess.run(psql, capture_output=True, text=True, env=env,
                                                     check=True).stdout.split()
    with urllib.request.urlopen(e["PDP_VAULT_URL"] + "/v1/sys/seal-status", timeout=5) as r:
        storage = json.load(r).get("storage_type")
    test_file = os.path.join(os.path.dirname(e["PDP_PG_DATA_DIR"].rstrip("/")), "pg_test_fsync.tmp")
    ft = subprocess.run([os.path.join(e["PDP_PG_BIN_DIR"], "pg_test_fsync"), "-s", "1", "-f", test_file],
                        capture_output=True, text=True)
    usecs = {}
    section = None
    for line in ft.stdout.splitlines():
        if line.startswith("Compare file sync methods using one"):
            section = "one_8kB_write"
        elif line.startswith("Compare") or line.startswith("Non-sync"):
            section = None
        m = re.match(r"\s+(\S+)\s+([0-9.]+) ops/sec\s+([0-9]+) usecs/op", line)
        if section and m:
            usecs[m.group(1)] = int(m.group(3))
    d = {"postgres": {"fsync": fsync, "synchronous_commit": sync_commit, "full_page_writes": fpw,
                      "wal_sync_method": method},
         "openbao_storage": storage,
         "durable": fsync == "on" and sync_commit == "on" and fpw == "on" and storage == "raft",
         "pg_test_fsync_one_8kB_write_usecs": usecs,
         "fsync_latency_ms": None if method not in usecs else round(usecs[method] / 1000.0, 3)}
    json.dump(d, open(out, "w"))
    print(f"durability: fsync={fsync} synchronous_commit={sync_commit} full_page_writes={fpw} OpenBao storage={storage}; "
          f"{method} of one 8 kB write: {d['fsync_latency_ms']} ms (pg_test_fsync)", file=sys.stderr)


def cmd_pgbench_summary(out_txt, step, name, clients, la_before, la_after):
    import re
    out = open(out_txt).read()
    tps = float(re.search(r"tps = ([0-9.]+)", out).group(1))
    lat = re.search(r"latency average = ([0-9.]+) ms", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    json.dump({"name": name, "clients": int(clients), "tps": round(tps, 1),
               "latency_avg_ms": float(lat.group(1)) if lat else None, "failed": int(failed.group(1)) if failed else 0,
               "loadavg_1m_before": float(la_before), "loadavg_1m_after": float(la_after)}, open(step, "w"))
    print(f"  {name}: {tps:.0f} tps (load {la_before})", file=sys.stderr)


def cmd_loadgen_summary(out_txt, step, la_before, la_after):
    d = json.loads(open(out_txt).read())
    d["loadavg_1m_before"], d["loadavg_1m_after"] = float(la_before), float(la_after)
    json.dump(d, open(step, "w"))
    print("  %s: %.0f/s, errors %s (load %s)" % (d["name"], d["throughput_rps"], d.get("errors"), la_before),
          file=sys.stderr)


def cmd_tenants_report(steps, out_file, stamp, durable, repo):
    r = {os.path.basename(p)[:-5]: load(p) for p in glob.glob(os.path.join(steps, "*.json"))}
    tps = lambda k: (r.get(k) or {}).get("tps")
    rps = lambda k: (r.get(k) or {}).get("throughput_rps")
    best = lambda vals: max([v for v in vals if v], default=None)
    ratios = {}
    for design in ("linker", "head_row"):
        for c in (8, 32):
            ratios[f"db_{design}_one_over_16_tenants_c{c}"] = ratio(tps(f"db_{design}_t1_c{c}"), tps(f"db_{design}_t16_c{c}"))
        for t in (1, 16):
            ratios[f"db_{design}_t{t}_c32_over_c8"] = ratio(tps(f"db_{design}_t{t}_c32"), tps(f"db_{design}_t{t}_c8"))
    for n in (1, 3):
        one = best([rps(f"pdp_deny_x{n}_t1"), rps(f"pdp_deny_x{n}_t1_run2")])
        many = best([rps(f"pdp_deny_x{n}_t16"), rps(f"pdp_deny_x{n}_t16_run2")])
        ratios[f"pdp_x{n}_one_over_16_tenants_best_of_2"] = ratio(one, many)
        # Runs in the order t1, t16, t16, t1: the means cancel a steady warm-up trend.
        pair = lambda t: [v for v in (rps(f"pdp_deny_x{n}_t{t}"), rps(f"pdp_deny_x{n}_t{t}_run2")) if v]
        ones, manys = pair(1), pair(16)
        ratios[f"pdp_x{n}_one_over_16_tenants_mean_of_2"] = (
            ratio(sum(ones) / len(ones), sum(manys) / len(manys)) if ones and manys else None)
    try:
        commit = subprocess.run(["git", "-C", repo, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except Exception:  # noqa: BLE001
        commit = None
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    doc = {"timestamp_utc": stamp, "git_commit": commit,
           "label": "durable" if durable == "1" else "NON-DURABLE (fsync off, OpenBao -dev): not production figures",
           "machine": {"nproc": os.cpu_count(), "cpu_model": cpu}, "durability": r.get("durability"),
           "ratios": ratios, "goals": {"one_over_16_tenants": ">= 0.9", "c32_over_c8": ">= 1.0 (no fall)"},
           "runs": {k: v for k, v in sorted(r.items()) if k not in ("durability",)}}
    json.dump(doc, open(out_file, "w"), indent=2)


def durability_line(doc):
    """The report's durability settings and fsync latency, one line (label first)."""
    d = doc.get("durability") or {}
    pg = d.get("postgres") or {}
    return (f"Durability: {doc.get('label', 'not recorded (before issue 18 the bench ran on the fast, NON-DURABLE test stack)')}: PostgreSQL fsync={pg.get('fsync')} synchronous_commit="
            f"{pg.get('synchronous_commit')} full_page_writes={pg.get('full_page_writes')}, OpenBao storage "
            f"{d.get('openbao_storage')}; fsync latency {d.get('fsync_latency_ms')} ms ({pg.get('wal_sync_method')} of "
            f"one 8 kB write, pg_test_fsync)")


def cmd_tenants_table(path):
    doc = load(path)
    print(f"Run {doc['timestamp_utc']}, commit {doc.get('git_commit')}, {doc['machine']['nproc']} x "
          f"{doc['machine']['cpu_model']}")
    print(durability_line(doc) + "\n")
    print("| run | clients | throughput /s | load avg (1 min) before |")
    print("|---|---:|---:|---:|")
    for k, v in doc["runs"].items():
        if k.startswith("db_"):
            print(f"| {k} | {v.get('clients')} | {v.get('tps')} | {v.get('loadavg_1m_before')} |")
        elif k.startswith("pdp_"):
            print(f"| {k} | {v.get('concurrency')} | {round(v.get('throughput_rps') or 0)} (errors {v.get('errors')}) | "
                  f"{v.get('loadavg_1m_before')} |")
    print("\n| ratio | value |")
    print("|---|---:|")
    for k, v in doc["ratios"].items():
        print(f"| {k} | {v} |")
    if "linker" in doc["runs"]:
        print(f"\nAfter the run: {doc['runs']['linker']}")


def cmd_cpu_report(out_dir, out, stamp, repo, pg, conc, dur, warm, *jars):
    """bench/cpu.sh's report: the per-run step files of OUT_DIR (one directory per jar and round) summarised
    into OUT (also usable on a run that was cut short)."""
    import platform
    def load(p):
        try: return json.load(open(p))
        except Exception: return None
    runs = {}
    for d in sorted(glob.glob(os.path.join(out_dir, "*-r*"))):
        r = {}
        for f in glob.glob(os.path.join(d, "*.json")):
            r[os.path.basename(f)[:-5]] = load(f)
        runs[os.path.basename(d)] = r
    def pdp_ms(s):
        try: return s["cpu"]["components"]["pdp"]["cpu_ms_per_request"]
        except Exception: return None
    def lat(s, k):
        try: return s["latency_ms"][k]
        except Exception: return None
    summary = {}
    for name, r in runs.items():
        threads = lambda s: ((s or {}).get("cpu") or {}).get("pdp_threads_cpu_ms_per_request")
        row = {"warmup": r.get("warmup"), "openbao_quiet": r.get("openbao_quiet"), "pdp_cpu_ms_per_deny": pdp_ms(r.get("cpu_deny")), "pdp_cpu_ms_per_allow_mint": pdp_ms(r.get("cpu_allow")),
               "pdp_threads_cpu_ms_per_deny": threads(r.get("cpu_deny")),
               "pdp_threads_cpu_ms_per_allow_mint": threads(r.get("cpu_allow")),
               "deny_rps": (r.get("cpu_deny") or {}).get("throughput_rps"),
               "allow_rps": (r.get("cpu_allow") or {}).get("throughput_rps"),
               "loadavg_before_cpu_deny": (r.get("cpu_deny") or {}).get("loadavg_before"),
               "other_processes_cores_deny": ((r.get("cpu_deny") or {}).get("cpu") or {}).get("other_processes_cores"),
               "other_processes_cores_allow": ((r.get("cpu_allow") or {}).get("cpu") or {}).get("other_processes_cores"),
               "deny_peak_rps_c8": (r.get("peak_deny_c8") or {}).get("throughput_rps"),
               "deny_peak_rps_c32": (r.get("peak_deny_c32") or r.get("peak_deny") or {}).get("throughput_rps")}
        for sfx in ("", "_pinned", "_socket", "_socket_pinned"):
            p, o = r.get("rate_pdp_deny" + sfx), r.get("rate_opa_deny" + sfx)
            if p and o and "latency_ms" in p and "latency_ms" in o:
                row["latency" + sfx] = {
                    "rate_rps": p.get("target_rps"), "loadavg_before": p.get("loadavg_before"),
                    "loadgen_cpus": p.get("loadgen_cpus"), "loadgen_client": p.get("client", "jdk"),
                    "loadgen_cpu_ms_per_request": (((p.get("cpu") or {}).get("load_generator") or {}).get("cpu_ms_per_request")),
                    "pdp_p50_p99_p999_ms": [lat(p, "p50"), lat(p, "p99"), lat(p, "p999")],
                    "opa_p50_p99_p999_ms": [lat(o, "p50"), lat(o, "p99"), lat(o, "p999")],
                    "added_p50_ms": round(lat(p, "p50") - lat(o, "p50"), 3),
                    "added_p99_ms": round(lat(p, "p99") - lat(o, "p99"), 3),
                    "other_processes_cores": (p.get("cpu") or {}).get("other_processes_cores"),
                    # OpenBao is on no DENY's path: its cores here are background work sharing the machine.
                    "openbao_cores_pdp_opa_runs": [(((x.get("cpu") or {}).get("components") or {}).get("openbao") or {}).get("cores")
                                                   for x in (p, o)],
                    "pdp_timers_mean_ms": p.get("pdp_timers_mean_ms")}
        # One request at a time with the socket client: no queueing for a core, so the added latency is what the
        # path costs by construction (its round trips and the PDP's own CPU per request).
        p, o = r.get("floor_pdp_deny"), r.get("floor_opa_deny")
        if p and o and "latency_ms" in p and "latency_ms" in o:
            row["floor_one_in_flight"] = {
                "pdp_rps": p.get("throughput_rps"), "loadavg_before": p.get("loadavg_before"),
                "pdp_p50_mean_ms": [lat(p, "p50"), lat(p, "mean")], "opa_p50_mean_ms": [lat(o, "p50"), lat(o, "mean")],
                "added_p50_ms": round(lat(p, "p50") - lat(o, "p50"), 3),
                "added_mean_ms": round(lat(p, "mean") - lat(o, "mean"), 3),
                "pdp_cpu_ms_per_request": pdp_ms(p), "pdp_timers_mean_ms": p.get("pdp_timers_mean_ms")}
        summary[name] = row
    def git(*a):
        return subprocess.run(["git", "-C", repo, *a], capture_output=True, text=True).stdout.strip()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    doc = {"timestamp_utc": stamp, "git_commit": git("rev-parse", "--short", "HEAD"), "jars": jars,
           "machine": {"nproc": os.cpu_count(), "cpu_model": cpu, "kernel": platform.release(),
                       "loadavg_end": open("/proc/loadavg").read().split()[:3]},
           "postgres_settings": json.loads(pg) if pg and pg != "null" else None,
           "config": {"concurrency": int(conc), "duration_s": int(dur), "warmup_s": int(warm),
                      "pdp_java_opts": os.environ.get("PDP_JAVA_OPTS"),
                      "agents_present_svids": bool(svid_key())},
           "summary": summary, "runs": runs}
    json.dump(doc, open(out, "w"), indent=1)
    print("| run | PDP CPU ms/DENY | PDP CPU ms/ALLOW+mint | DENY /s (c=%s) | ALLOW /s | load avg | other cores | added p50 / p99 ms (free) | added p50 / p99 ms (pinned) | socket client: free | socket client: pinned | added p50 / mean ms, one in flight |" % conc, file=sys.stderr)
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|", file=sys.stderr)
    for name, s in summary.items():
        f = lambda k: "%s / %s" % (s[k]["added_p50_ms"], s[k]["added_p99_ms"]) if s.get(k) else "-"
        print(f"| {name} | {s['pdp_cpu_ms_per_deny']} | {s['pdp_cpu_ms_per_allow_mint']} | {s['deny_rps']} | {s['allow_rps']} | "
              f"{s['loadavg_before_cpu_deny']} | {s['other_processes_cores_deny']} | {f('latency')} | {f('latency_pinned')} | "
              f"{f('latency_socket')} | {f('latency_socket_pinned')} | "
              f"{'%s / %s' % (s['floor_one_in_flight']['added_p50_ms'], s['floor_one_in_flight']['added_mean_ms']) if s.get('floor_one_in_flight') else '-'} |",
              file=sys.stderr)


# The PDP's own timers of a DENY's path, read from /actuator/prometheus: the whole request as Tomcat's observation
# saw it, the decision, and its three dependencies on that path (context read, OPA call, the record's write with its
# commit). Their means over a step say where the added latency goes; "rest_of_decision" is the PDP's own work
# between them (plus waits for a core). A jar before the audit timer has no "audit" series: rest is then null.
TIMERS = {"http_request": ("http_server_requests_seconds", {"uri": "/v1/decisions", "status": "200"}),
          "decision": ("pdp_decision_duration_seconds", {"outcome": "DENY"}),
          "context_read": ("pdp_dependency_duration_seconds", {"dependency": "database", "result": "ok"}),
          "opa_call": ("pdp_dependency_duration_seconds", {"dependency": "opa", "result": "ok"}),
          "audit_record": ("pdp_dependency_duration_seconds", {"dependency": "audit", "result": "ok"})}


def cmd_timers_snap(mgmt_base, out):
    text = urllib.request.urlopen(mgmt_base + "/actuator/prometheus", timeout=10).read().decode()
    json.dump({f"{name}_{part}": prom_series_sum(text, f"{metric}_{part}", labels)
               for name, (metric, labels) in TIMERS.items() for part in ("sum", "count")}, open(out, "w"))


def cmd_timers_merge(step, before, after):
    d, a, b = load(step), load(before), load(after)
    means = {}
    for name in TIMERS:
        n0, n1, s0, s1 = a.get(name + "_count"), b.get(name + "_count"), a.get(name + "_sum"), b.get(name + "_sum")
        ok = None not in (n0, n1, s0, s1) and n1 > n0
        means[name] = round(1000 * (s1 - s0) / (n1 - n0), 3) if ok else None
    parts = [means[k] for k in ("context_read", "opa_call", "audit_record")]
    means["rest_of_decision"] = (round(means["decision"] - sum(parts), 3)
                                 if means["decision"] is not None and None not in parts else None)
    d["pdp_timers_mean_ms"] = means
    json.dump(d, open(step, "w"))


def cmd_soak_mix(bodies_dir, reuse, out):
    """Per 10 requests: 6 DENY, 2 ALLOW with a mint, 2 ALLOW reusing a held credential (the others: STEP_UP and
    approvals, util.py approvals-loop)."""
    deny = [l for l in open(os.path.join(bodies_dir, "pdp-deny.jsonl")) if l.strip()]
    allow = [l for l in open(os.path.join(bodies_dir, "pdp-allow.jsonl")) if l.strip()]
    held = [l for l in open(reuse) if l.strip()]
    lines = []
    for i in range(max(len(held), 100) * 5):
        k = i % 10
        lines.append(deny[i % len(deny)] if k < 6 else allow[i % len(allow)] if k < 8 else held[i % len(held)])
    with open(out, "w") as f:
        f.writelines(l if l.endswith("\n") else l + "\n" for l in lines)


def cmd_approvals_loop(base, jwt, approver_jwt, seconds, interval, offset, out):
    """For SECONDS, every INTERVAL_S: a restricted read (STEP_UP, opens an approval), one approval vote through
    the API, the same request again with the approval (ALLOW approved_by_human, mints). Agents rotate (the
    approval creation limit is per agent). Counts every decision answered (200) for the lost-records check."""
    import http.client
    import urllib.parse
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)

    def call(path, token, body):
        conn.request("POST", path, body=json.dumps(body).encode(), headers={
            "Authorization": "Bearer " + token, "Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"{}")

    counts = Counter()
    svids = svid_key()
    end = time.monotonic() + float(seconds)
    i = int(offset)
    while time.monotonic() < end:
        started = time.monotonic()
        i += 1
        agent = f"bench-agent-{i % 1000 + 1}"
        # Each iteration is another agent (a minute's loop never comes back to one): its SVID is signed here.
        request = decision_request(agent, 0, svid(*svids, agent, 6 * 3600) if svids else None)
        request["task"]["id"] = f"soak-approval-{i}"
        request["data_classification"] = "restricted"
        try:
            status, answer = call("/v1/decisions", jwt, request)
            if status == 200:
                counts["decisions_answered"] += 1
            if status != 200 or answer.get("outcome") != "STEP_UP":
                counts["unexpected_step_up_answer"] += 1
                counts[f"unexpected_step_up: HTTP {status} {answer.get('outcome')} {','.join(answer.get('reasons') or [])}"] += 1
                counts["last_unexpected"] = 0
                continue
            counts["step_up"] += 1
            approval = answer["approval"]["id"]
            status, _ = call(f"/v1/approvals/{approval}/approve", approver_jwt, {"comment": "soak"})
            if status != 200:
                counts["approve_failed"] += 1
                continue
            counts["approved"] += 1
            request["approval_id"] = approval
            status, answer = call("/v1/decisions", jwt, request)
            if status == 200:
                counts["decisions_answered"] += 1
            if status == 200 and answer.get("outcome") == "ALLOW" and (answer.get("credential") or {}).get("type") == "wrapped_token":
                counts["allow_with_approval"] += 1
            else:
                counts["unexpected_retry_answer"] += 1
                counts[f"unexpected_retry: HTTP {status} {answer.get('outcome')} {','.join(answer.get('reasons') or [])}"] += 1
        except (OSError, http.client.HTTPException, ValueError, KeyError):
            counts["transport_errors"] += 1
            conn.close()
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        time.sleep(max(0.0, float(interval) - (time.monotonic() - started)))
    counts.pop("last_unexpected", None)
    json.dump(dict(counts, next_offset=i), open(out, "w"))


def prom_values(url):
    """{metric name: [(labels, value)]} of a Prometheus text page."""
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    values = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_labels, _, value = line.rpartition(" ")
        name, _, labels = name_labels.partition("{")
        try:
            values.setdefault(name, []).append((labels.rstrip("}"), float(value)))
        except ValueError:
            pass
    return values


def cmd_soak_sample(mgmt, minute, step, out):
    """After a full GC (the caller ran jcmd GC.run): heap used, Hikari connections, live threads, with the
    minute's load-generator result."""
    v = prom_values(mgmt + "/actuator/prometheus")
    total = lambda name, match="": sum(x for labels, x in v.get(name, []) if match in labels)
    d = load(step) if os.path.exists(step) else {}
    with open("/proc/loadavg") as f:
        la = f.read().split()[:3]
    json.dump({"minute": int(minute), "heap_after_gc_mb": round(total("jvm_memory_used_bytes", 'area="heap"') / 2**20, 2),
               "hikari_connections": total("hikaricp_connections"),
               "hikari_active": total("hikaricp_connections_active"),
               "hikari_pending": total("hikaricp_connections_pending"),
               "threads_live": total("jvm_threads_live_threads"),
               "throughput_rps": d.get("throughput_rps"), "target_rps": d.get("target_rps"),
               "requests": d.get("requests"), "requests_total": d.get("requests_total"), "errors": d.get("errors"),
               "first_error": d.get("first_error"), "latency_ms": d.get("latency_ms"),
               "latency_by_outcome_ms": d.get("latency_by_outcome"), "loadavg": la,
               "cpu_ms_per_request": {k: c.get("cpu_ms_per_request")
                                      for k, c in ((d.get("cpu") or {}).get("components") or {}).items()}
               | {"load_generator": ((d.get("cpu") or {}).get("load_generator") or {}).get("cpu_ms_per_request")}},
              open(out, "w"))


def slope(points):
    """Least-squares slope of [(x, y)]."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    den = sum((x - mx) ** 2 for x, _ in points)
    return 0.0 if den == 0 else sum((x - mx) * (y - my) for x, y in points) / den


def cmd_soak_report(samples_dir, extra, out):
    """The soak's checks (bench/README.md, Soak):
    - heap after GC flat: over the last 20 minutes (the last two thirds of a shorter run), the least-squares
      slope of the heap after a full GC times the window's length is at most 10 % of the window's mean heap;
    - no connection or thread growth: the last 5 minutes' maximum (Hikari connections, live threads) is at
      most the first 5 minutes' maximum (threads: + 10 %, at least 2, for the JVM's own helpers);
    - p99 of the last 5 minutes within 20 % of the first 5 (median of the per-minute p99s; windows of
      min(5, minutes / 2));
    - zero lost records: decision_record rows added >= decisions answered 200;
    - the mix was decided: no load-generator error (every answer 200 with an outcome), the approval loop saw only
      STEP_UP then ALLOW, and the records hold DENY, ALLOW with a mint, reuse, STEP_UP and approved ALLOWs, no
      refusal;
    - chain and checkpoints valid: GET /v1/audit/verify says valid, checked at least one signed checkpoint, and
      the registry change log is valid too."""
    samples = sorted((load(p) for p in glob.glob(os.path.join(samples_dir, "minute-*.json"))), key=lambda s: s["minute"])
    x = load(extra)
    verify = x.get("verify") if isinstance(x.get("verify"), dict) else {}
    n = len(samples)
    w = max(1, min(5, n // 2))
    first, last = samples[:w], samples[-w:]
    heap_window = samples[-min(20, max(2, (2 * n + 2) // 3)):]
    heap_slope = slope([(s["minute"], s["heap_after_gc_mb"]) for s in heap_window])
    heap_mean = sum(s["heap_after_gc_mb"] for s in heap_window) / len(heap_window)
    heap_growth = heap_slope * (len(heap_window) - 1)
    med = lambda xs: sorted(xs)[len(xs) // 2]
    p99 = lambda ss: med([s["latency_ms"]["p99"] for s in ss if s.get("latency_ms")])
    mx = lambda ss, k: max(s[k] for s in ss)

    def cpu(ss, k):
        xs = [(s.get("cpu_ms_per_request") or {}).get(k) for s in ss]
        xs = [x for x in xs if isinstance(x, (int, float)) and x > 0]
        return med(xs) if xs else None

    def kind_p99(ss, k):
        xs = [((s.get("latency_by_outcome_ms") or {}).get(k) or {}).get("p99") for s in ss]
        xs = [x for x in xs if isinstance(x, (int, float))]
        return med(xs) if xs else None
    checks = {
        "heap_after_gc_flat": {"window_minutes": len(heap_window), "slope_mb_per_min": round(heap_slope, 3),
                               "growth_over_window_mb": round(heap_growth, 2), "window_mean_mb": round(heap_mean, 1),
                               "ok": heap_growth <= 0.10 * heap_mean},
        "no_connection_growth": {"first_max": mx(first, "hikari_connections"), "last_max": mx(last, "hikari_connections"),
                                 "ok": mx(last, "hikari_connections") <= mx(first, "hikari_connections")},
        "no_thread_growth": {"first_max": mx(first, "threads_live"), "last_max": mx(last, "threads_live"),
                             "ok": mx(last, "threads_live") <= max(mx(first, "threads_live") * 1.1, mx(first, "threads_live") + 2)},
        "p99_stable": {"window_minutes": w, "first_p99_ms": p99(first), "last_p99_ms": p99(last),
                       # Context, not part of the check: the work per request of OPA and of the load generator
                       # does not change over a soak, so a rise in their CPU per request is the machine's.
                       "cpu_ms_per_request_first_last": {k: [cpu(first, k), cpu(last, k)]
                                                         for k in ("pdp", "opa", "postgres", "load_generator")},
                       # Context too: which kind of answer makes the tail (median of the per-minute p99s).
                       "p99_by_outcome_first_last_ms": {k: [kind_p99(first, k), kind_p99(last, k)]
                                                        for k in ("DENY", "ALLOW_mint", "ALLOW_reuse")},
                       "ok": p99(last) <= 1.2 * p99(first)},
        "zero_lost_records": {"decisions_answered": x["decisions_answered"], "records_added": x["records_added"],
                              "ok": x["records_added"] >= x["decisions_answered"]},
        "mix_decided": {"load_errors": sum(s.get("errors") or 0 for s in samples),
                        "approvals": x.get("approvals"), "recorded_outcomes": x.get("recorded_outcomes"),
                        "ok": sum(s.get("errors") or 0 for s in samples) == 0
                        and isinstance(x.get("approvals"), dict) and (x["approvals"].get("allow_with_approval") or 0) > 0
                        and not any(k.startswith("unexpected") or k in ("approve_failed", "transport_errors")
                                    for k, v in x["approvals"].items() if v)
                        and isinstance(x.get("recorded_outcomes"), dict)
                        and all((x["recorded_outcomes"].get(k) or 0) > 0
                                for k in ("DENY", "ALLOW_mint", "ALLOW_reuse", "STEP_UP", "ALLOW_approved"))
                        and not x["recorded_outcomes"].get("DENY_refused")
                        and not any(k.startswith("DENY_dependency_failure") for k in x["recorded_outcomes"])},
        "audit_valid": {"records_checked": verify.get("records_checked"), "checkpoints_checked": verify.get("checkpoints_checked"),
                        "records_after_latest_checkpoint": verify.get("records_after_latest_checkpoint"),
                        "ok": verify.get("valid") is True and (verify.get("checkpoints_checked") or 0) > 0
                        and (verify.get("registry_changes") or {}).get("valid") is True
                        and verify.get("records_checked") == verify.get("head_seq")},
    }
    doc = dict(x, minutes=n, checks=checks, ok=all(c["ok"] for c in checks.values()), samples=samples)
    json.dump(doc, open(out, "w"), indent=1)
    print("| minute | rate /s | p50 ms | p99 ms | p99.9 ms | errors | heap after GC MB | Hikari | threads | load avg |", file=sys.stderr)
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|", file=sys.stderr)
    for s in samples:
        l = s.get("latency_ms") or {}
        print(f"| {s['minute']} | {s['throughput_rps']} | {l.get('p50')} | {l.get('p99')} | {l.get('p999')} | {s['errors']} | "
              f"{s['heap_after_gc_mb']} | {s['hikari_connections']:.0f} | {s['threads_live']:.0f} | {' '.join(s['loadavg'])} |", file=sys.stderr)
    for name, c in checks.items():
        print(f"{'ok  ' if c['ok'] else 'FAIL'} {name}: " + ", ".join(f"{k}={v}" for k, v in c.items() if k not in ("ok", "verify")), file=sys.stderr)
    print("soak: " + ("all checks hold" if doc["ok"] else "CHECKS FAILED"), file=sys.stderr)
    if not doc["ok"]:
        sys.exit(1)


def cmd_chart_java_opts(values):
    """The PDP's JVM options as the Helm chart runs it: the chart's config.javaToolOptions and -XX:MaxRAM of its
    container memory limit, which sizes the heap as that limit does in the container (the JVM picks its collector
    from the container too, so the chart names one). Needs PyYAML (make deps puts it in .tools/venv)."""
    import yaml
    chart = yaml.safe_load(open(values))
    memory = str(chart["resources"]["limits"]["memory"])
    m = re.fullmatch(r"(\d+)(Mi|Gi)", memory)
    if not m:
        raise SystemExit(f"resources.limits.memory of {values} is not <n>Mi or <n>Gi: {memory}")
    print(f"-XX:MaxRAM={m.group(1)}{'m' if m.group(2) == 'Mi' else 'g'} {chart['config']['javaToolOptions']}")

if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"jwt": cmd_jwt, "bodies": cmd_bodies, "svid-bundle": cmd_svid_bundle, "tenant-bodies": cmd_tenant_bodies, "reuse-bodies": cmd_reuse_bodies,
     "statement-sql": cmd_statement_sql, "pgbench-stats": cmd_pgbench_stats, "prom-sum": cmd_prom_sum,
     "jfr-top": cmd_jfr_top, "compose": cmd_compose,
     "line": cmd_line, "table": cmd_table,
     "cpu-snap": cmd_cpu_snap, "cpu-merge": cmd_cpu_merge, "durability": cmd_durability,
     "pgbench-summary": cmd_pgbench_summary, "loadgen-summary": cmd_loadgen_summary,
     "tenants-report": cmd_tenants_report, "tenants-table": cmd_tenants_table, "soak-mix": cmd_soak_mix,
     "approvals-loop": cmd_approvals_loop, "cpu-report": cmd_cpu_report, "soak-sample": cmd_soak_sample, "soak-report": cmd_soak_report,
     "chart-java-opts": cmd_chart_java_opts, "timers-snap": cmd_timers_snap, "timers-merge": cmd_timers_merge}[cmd](*args)

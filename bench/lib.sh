# Shared by every bench script (sourced, not run): the stack (durable by default), the caller JWT, PDP instances
# with the bench's settings, seeding of the bench tenant(s), CPU snapshots and one measurement (`measure`).
# The caller sets BENCH_DIR, REPO_ROOT, WORK (and BENCH_NAME for the log prefix) and calls bench_cleanup from
# its EXIT trap.
# shellcheck shell=bash

export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
JAVA="$JAVA_HOME/bin/java"
JCMD="$JAVA_HOME/bin/jcmd"
JFR="$JAVA_HOME/bin/jfr"
DURABLE="${BENCH_DURABLE:-1}"           # 1: production durability (PDP_STACK_DURABLE=1); 0: fast, labelled NON-DURABLE
AGENTS="${BENCH_AGENTS:-1000}"
# 1: every agent presents a JWT-SVID (ES256, as SPIRE signs by default; from a bench key the PDPs trust through a
# bundle file) and every tool risk tier requires one, as in production. cpu.sh and statements.sh only.
SVID="${BENCH_SVID:-0}"
WARMUP="${BENCH_WARMUP:-45}"            # s, least JIT warm-up per PDP start (DENY and ALLOW), see warm_up
WARMUP_MAX="${BENCH_WARMUP_MAX:-300}"   # s, longest warm-up
STATE="$WORK/stack"
STACK_STARTED=0
PDP_PIDS=()
declare -A API_PORT MGMT_PORT
# What the bench's two main bodies answer (util.py bodies): the DENY path and the ALLOW path with a mint.
DENY_OK='"reasons":["chain_mismatch"]'
ALLOW_OK='"credential":{"type":"wrapped_token"'

log() { printf '[%s %s] %s\n' "${BENCH_NAME:-bench}" "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

[[ -x "$JAVA" ]] || die "JDK 25 not found at $JAVA_HOME"
# The PDP's JVM as the Helm chart runs it (util.py chart-java-opts, with the venv's PyYAML: the chart's
# JAVA_TOOL_OPTIONS in a container of the chart's memory limit). Until session 16 the bench ran -Xms512m -Xmx1g, on
# which the JVM chose G1, while in the chart's 1 GiB container it chose the serial collector (which the chart now
# names). To try another collector, set BENCH_PDP_JAVA_OPTS whole: two collector flags stop the JVM.
if [[ -z "${BENCH_PDP_JAVA_OPTS:-}" ]]; then
  [[ -x "$REPO_ROOT/.tools/venv/bin/python3" ]] || die "$REPO_ROOT/.tools/venv not found: run make deps"
fi
PDP_JAVA_OPTS="${BENCH_PDP_JAVA_OPTS:-$("$REPO_ROOT/.tools/venv/bin/python3" "$BENCH_DIR/util.py" chart-java-opts "$REPO_ROOT/helm/agent-pdp/values.yaml")}"
for t in curl openssl python3; do command -v "$t" >/dev/null || die "$t not found"; done

bench_cleanup() {
  local pid
  for pid in "${PDP_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PDP_PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if ((STACK_STARTED)); then
    "$REPO_ROOT/scripts/stack/stop.sh" "$STATE" >/dev/null 2>&1 || true
    if [[ -f "$STATE/pgroot" ]]; then
      local pgroot; pgroot="$(cat "$STATE/pgroot")"
      case "$pgroot" in /tmp/agent-pdp-pg.*) rm -rf -- "$pgroot" ;; esac
    fi
  fi
}

# bench_exit_traps: on exit (also on INT/TERM) stop everything started here and remove WORK.
bench_exit_traps() {
  # shellcheck disable=SC2154
  trap 'rc=$?; trap - EXIT; bench_cleanup; rm -rf -- "$WORK"; log "stopped everything (exit $rc)"; exit "$rc"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}
# bench_jar JAR: builds target/agent-pdp.jar when JAR is missing.
bench_jar() { [[ -f "$1" ]] || (cd "$REPO_ROOT" && ./mvnw -B -q -DskipTests package) || die "build failed"; }

# bench_stack: OPA + OpenBao + PostgreSQL (scripts/stack/start.sh, durable unless BENCH_DURABLE=0), env sourced,
# the caller JWT (subject bench-caller, tenant bench, scope decide) and its key.
bench_stack() {
  mkdir -p "$WORK/pdp" "$WORK/bodies"
  log "starting OPA + OpenBao + PostgreSQL in $STATE (PDP_STACK_DURABLE=$DURABLE)"
  STACK_STARTED=1
  PDP_STACK_DURABLE="$DURABLE" PDP_STACK_SKIP_VERIFY=1 "$REPO_ROOT/scripts/stack/start.sh" "$STATE" >"$WORK/stack.log" 2>&1 \
    || { tail -n 30 "$WORK/stack.log" >&2; die "stack did not start"; }
  # shellcheck disable=SC1091
  source "$STATE/env"
  OPA_DECISION_URL="$PDP_OPA_URL/v1/data/agentpdp/decision/result?provenance=true"
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/jwt-key.pem" 2>/dev/null
  openssl pkey -in "$WORK/jwt-key.pem" -pubout -out "$WORK/jwt-pub.pem"
  JWT="$(python3 "$BENCH_DIR/util.py" jwt "$WORK/jwt-key.pem" bench-caller bench agent-pdp decide 7200)"
  AUTH_PDP="Authorization: Bearer $JWT"
  if [[ "$SVID" == 1 ]]; then
    [[ "${BENCH_NAME:-}" =~ ^(cpu|statements|soak)$ ]] || die "BENCH_SVID=1 is for cpu.sh, statements.sh and soak.sh"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/svid-key.pem" 2>/dev/null
    python3 "$BENCH_DIR/util.py" svid-bundle "$WORK/svid-key.pem" "$WORK/svid-bundle.json"
    export BENCH_SVID_KEY="$WORK/svid-key.pem" BENCH_SVID_DOMAIN="$PDP_IDENTITY_TRUST_DOMAIN" \
      BENCH_SVID_AUDIENCE="${PDP_IDENTITY_AUDIENCE:-agent-pdp}"
  fi
}

# The PDP's workload-identity settings: none required (the agents send no SVID), or with BENCH_SVID=1 the bench's
# bundle file and production's required tiers; the SVIDs live 6 hours (a run is longer than SPIRE's 5 minutes), so
# the accepted lifetime is raised to match: the only identity setting that differs from production.
identity_env() {
  if [[ "$SVID" == 1 ]]; then
    printf '%s\n' PDP_IDENTITY_BUNDLE_SOURCE=file "PDP_IDENTITY_BUNDLE_FILE=$WORK/svid-bundle.json" \
      PDP_IDENTITY_MAX_LIFETIME=7h PDP_IDENTITY_REQUIRED_RISK_TIERS=low,medium,high,critical
  else
    printf '%s\n' PDP_IDENTITY_REQUIRED_RISK_TIERS=
  fi
}

# The stack's durability settings, as JSON (the figures depend on them).
bench_pg_settings() {
  PGPASSWORD="$SPRING_FLYWAY_PASSWORD" "$PDP_PG_BIN_DIR/psql" -X -At -h 127.0.0.1 -p "$PDP_PG_PORT" \
    -U "$SPRING_FLYWAY_USER" -d agentpdp -c "select json_object_agg(name, setting) from pg_settings
      where name in ('fsync', 'synchronous_commit', 'full_page_writes', 'commit_delay')" 2>/dev/null || echo null
}

# launch_pdp N JAR [extra java options]: instance N on its own ports with the bench settings; does not wait.
# Quarantine thresholds are raised: at bench rates every agent would otherwise be quarantined after 5 DENYs or
# 120 decisions a minute, and all later decisions would be cheap "quarantined" DENYs (no OPA). The per-replica
# rate limits (default 500/s per tenant, 50/s per agent) are raised too, so the bench measures capacity and not
# the limiter. Workload identity: identity_env (by default none is required and none is sent, so SVID
# verification is not measured; BENCH_SVID=1 measures it).
launch_pdp() {
  local n="$1" jar="$2"; shift 2
  API_PORT[$n]="$(free_port)"; MGMT_PORT[$n]="$(free_port)"
  while [[ "${MGMT_PORT[$n]}" == "${API_PORT[$n]}" ]]; do MGMT_PORT[$n]="$(free_port)"; done
  log "starting PDP #$n ($(basename "$jar")) on :${API_PORT[$n]} (management :${MGMT_PORT[$n]})"
  # shellcheck disable=SC2086
  SERVER_PORT="${API_PORT[$n]}" MANAGEMENT_SERVER_PORT="${MGMT_PORT[$n]}" \
  SPRING_SECURITY_OAUTH2_RESOURCESERVER_JWT_PUBLIC_KEY_LOCATION="file:$WORK/jwt-pub.pem" \
  SPRING_SECURITY_OAUTH2_RESOURCESERVER_JWT_AUDIENCES=agent-pdp \
  PDP_SECURITY_ISSUER=agent-pdp-bench \
  SPRING_FLYWAY_PLACEHOLDERS_APP_ROLE=pdp_app \
  PDP_QUARANTINE_DENY_THRESHOLD="${BENCH_QUARANTINE_THRESHOLD:-1000000000}" \
  PDP_QUARANTINE_RATE_THRESHOLD="${BENCH_QUARANTINE_THRESHOLD:-1000000000}" \
  PDP_LIMITS_TENANT_PER_SECOND=1000000 PDP_LIMITS_TENANT_BURST=1000000 \
  PDP_LIMITS_AGENT_PER_SECOND=1000000 PDP_LIMITS_AGENT_BURST=1000000 \
  env $(identity_env) \
  setsid "$JAVA" $PDP_JAVA_OPTS "$@" -jar "$jar" >"$WORK/pdp/pdp$n.log" 2>&1 </dev/null &
  PDP_PIDS+=("$!")
  echo "$!" >"$WORK/pdp/pdp$n.pid"
}
# wait_ready N: until instance N's readiness is UP (Flyway has run by then).
wait_ready() {
  local n="$1" pid deadline=$((SECONDS + 180))
  pid="$(pdp_pid "$n")"
  until curl -fsS --max-time 2 "http://127.0.0.1:${MGMT_PORT[$n]}/actuator/health/readiness" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { tail -n 40 "$WORK/pdp/pdp$n.log" >&2; die "PDP #$n exited"; }
    ((SECONDS < deadline)) || { tail -n 40 "$WORK/pdp/pdp$n.log" >&2; die "PDP #$n not ready after 180s"; }
    sleep 0.5
  done
  log "PDP #$n ready (pid $pid)"
}
start_pdp() { launch_pdp "$@"; wait_ready "$1"; }
stop_pdp() {
  local pid; pid="$(pdp_pid "$1")"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
}
pdp_pid() { cat "$WORK/pdp/pdp$1.pid"; }
pdp_url() { printf 'http://127.0.0.1:%s/v1/decisions' "${API_PORT[$1]}"; }
api_base() { printf 'http://127.0.0.1:%s' "${API_PORT[$1]}"; }
mgmt_base() { printf 'http://127.0.0.1:%s' "${MGMT_PORT[$1]}"; }

bench_psql() {
  PGPASSWORD="$SPRING_FLYWAY_PASSWORD" "$PDP_PG_BIN_DIR/psql" -X -q -h 127.0.0.1 -p "$PDP_PG_PORT" \
    -U "$SPRING_FLYWAY_USER" -d agentpdp -v ON_ERROR_STOP=1 "$@"
}

# The stack's PostgreSQL superuser (peer authentication: needs root).
superuser_psql() { (cd / && runuser -u postgres -- "$PDP_PG_BIN_DIR/psql" -X -q -At -h "$PDP_PG_SOCKET_DIR" -p "$PDP_PG_PORT" -d agentpdp "$@"); }
# preload_libraries LIBS: restart PostgreSQL with shared_preload_libraries = LIBS (e.g. 'pg_stat_statements,
# auto_explain') and create pg_stat_statements; the new postmaster's PID is the one cpu-snap measures. Before any PDP
# starts: the restart drops every connection.
preload_libraries() {
  superuser_psql -c "alter system set shared_preload_libraries = $1" >/dev/null
  (cd / && runuser -u postgres -- "$PDP_PG_BIN_DIR/pg_ctl" -D "$PDP_PG_DATA_DIR" -l "$PDP_PG_DATA_DIR/../postgres.log" \
    -w restart -m fast >/dev/null)
  head -n 1 "$PDP_PG_DATA_DIR/postmaster.pid" >"$STATE/postgres.pid"
  superuser_psql -c "create extension if not exists pg_stat_statements" >/dev/null
}

# seed_tenants TENANT...: in each tenant AGENTS agents (manifest crm.contacts.read/update and db.query, home system
# crm), the tools with their credential profiles (tokens bench-reader/bench-writer, a dynamic PostgreSQL login
# bench-db), one classification rule, and the enforcement point binding them all to the caller bench-caller; each
# tenant onboarded in OpenBao (policies tenant.<t>.*, token role agent-pdp.<t>, database role <t>.crm-read).
seed_tenants() {
  log "seeding tenant(s) $*: $AGENTS agents each, bound to bench-caller"
  local tenants; tenants="$(printf '%s\n' "$@" | python3 -c 'import sys; print("{" + ",".join(l.strip() for l in sys.stdin if l.strip()) + "}")')"
  bench_psql -v agents="$AGENTS" -v tenants="$tenants" <<'SQL'
create temporary table seed_tenant as select unnest(:'tenants'::text[]) as t;
insert into agent (tenant_id, agent_id, owner, allowed_tools, home_systems, max_chain_depth)
select t, 'bench-agent-' || g, 'bench-owner', array['crm.contacts.read', 'crm.contacts.update', 'db.query'], array['crm'], null
from seed_tenant, generate_series(1, :agents) g;
insert into credential_profile (tenant_id, name, kind, policies, mount, role, max_ttl_seconds, max_uses, updated_by)
select t, p.name, p.kind, p.policies, p.mount, p.role, p.ttl, p.uses, 'bench'
from seed_tenant, (values ('bench-reader', 'token', array['crm-read'], null, null, 300, 10),
                          ('bench-writer', 'token', array['crm-write'], null, null, 300, 10),
                          ('bench-db', 'dynamic', '{}'::text[], 'database', 'crm-read', 120, null))
                  as p(name, kind, policies, mount, role, ttl, uses);
insert into tool (tenant_id, name, target_system, action_kinds, risk_tier, read_only, credential_profile, updated_by)
select t, x.name, 'crm', x.kinds, x.tier, x.ro, x.profile, 'bench'
from seed_tenant, (values ('crm.contacts.read', array['read'], 'low', true, 'bench-reader'),
                          ('crm.contacts.update', array['write'], 'medium', false, 'bench-writer'),
                          ('db.query', array['read'], 'low', true, 'bench-db')) as x(name, kinds, tier, ro, profile);
insert into classification_rule (tenant_id, id, system, resource_prefix, system_folded, prefix_folded, level, updated_by)
select t, gen_random_uuid(), 'crm', 'contacts', 'crm', 'contacts', 'internal', 'bench' from seed_tenant;
-- The bench's decide token (subject bench-caller) decides only for the agents its enforcement point binds.
insert into enforcement_point (tenant_id, id, principal, agent_ids, updated_by)
select t, gen_random_uuid(), 'bench-caller', (select array_agg('bench-agent-' || g order by g) from generate_series(1, :agents) g), 'bench'
from seed_tenant;
analyze agent; analyze tool; analyze classification_rule; analyze enforcement_point; analyze credential_profile;
SQL
  if [[ "$SVID" == 1 ]]; then
    # Each agent bound to its SVID's SPIFFE ID (util.py spiffe_id).
    bench_psql -v tenants="$tenants" -v domain="$BENCH_SVID_DOMAIN" <<'SQL'
update agent set spiffe_ids = array['spiffe://' || :'domain' || '/bench/' || agent_id]
where tenant_id = any (:'tenants'::text[]);
SQL
  fi
  "$REPO_ROOT/scripts/stack/tenant-layout.sh" onboard "$STATE" "$@" >>"$WORK/stack.log" 2>&1 \
    || { tail -n 20 "$WORK/stack.log" >&2; die "onboarding $* in OpenBao failed"; }
}

# seed_bench: tenant bench, the request bodies, and a check that the two main paths answer what the bench assumes.
seed_bench() {
  seed_tenants bench
  python3 "$BENCH_DIR/util.py" bodies "$WORK/bodies" "$AGENTS"
  expect_answer "$(pdp_url "${1:-1}")" "$WORK/bodies/pdp-deny.jsonl" "$DENY_OK"
  expect_answer "$(pdp_url "${1:-1}")" "$WORK/bodies/pdp-allow.jsonl" "$ALLOW_OK"
}
# expect_answer URL BODY_FILE EXPECTED_SUBSTRING: the first body's answer contains it, or the bench stops.
expect_answer() {
  local out
  out="$(head -n 1 "$2" | curl -sS --max-time 10 -H "$AUTH_PDP" -H 'Content-Type: application/json' --data-binary @- "$1")"
  [[ "$out" == *"$3"* ]] || die "$(basename "$2"): expected $3, got: $out"
}

# measure NAME OUT.json [LoadGen args...]: one measurement with CPU accounting of every process, load average
# before/after; never aborts the run (a failure is an {"error"} document). BENCH_LOADGEN_CPUS (e.g. "0") pins the
# load generator with taskset.
measure() {
  local name="$1" out="$2"; shift 2
  local la res rc=0 pin=()
  [[ -n "${BENCH_LOADGEN_CPUS:-}" ]] && pin=(taskset -c "$BENCH_LOADGEN_CPUS")
  la="$(loadavg)"
  cpu_snap "$WORK/cpu-before.json"
  res="$(timeout 600 "${pin[@]}" "$JAVA" -Xmx1g "$BENCH_DIR/LoadGen.java" --name "$name" "$@" 2>"$WORK/$name.err")" || rc=$?
  cpu_snap "$WORK/cpu-after.json"
  if ((rc == 0)) && [[ "$res" == "{"* ]]; then
    printf '%s' "$res" | python3 -c 'import json,sys; d=json.load(sys.stdin); d["loadavg_before"]=sys.argv[1]; d["loadavg_after"]=sys.argv[2]; d["loadgen_cpus"]=sys.argv[3] or None; print(json.dumps(d))' \
      "$la" "$(loadavg)" "${BENCH_LOADGEN_CPUS:-}" >"$out"
    python3 "$BENCH_DIR/util.py" cpu-merge "$out" "$WORK/cpu-before.json" "$WORK/cpu-after.json" || true
    python3 "$BENCH_DIR/util.py" line "$out" >&2
  else
    log "  $name failed (rc $rc): $(tail -n 3 "$WORK/$name.err" | tr '\n' ' ')"
    python3 -c 'import json,sys; print(json.dumps({"name": sys.argv[2], "error": sys.argv[1]}))' \
      "rc $rc: $(tail -n 3 "$WORK/$name.err")" "$name" >"$out"
  fi
}
# warm_up N LABEL OUT.json: closed-loop DENY (10 s) and ALLOW (5 s) pieces until the JIT has settled: at least WARMUP
# seconds, then until a piece adds fewer than 10 compilations (jstat -compiler), at most WARMUP_MAX seconds.
# On a busy machine a fixed time is not enough: the compiler threads would still run (and count as PDP CPU).
warm_up() {
  local n="$1" pid prev=-1 cur=0 delta=-1 started=$SECONDS path
  pid="$(pdp_pid "$n")"
  while ((SECONDS - started < WARMUP_MAX)); do
    for path in deny:10 allow:5; do
      timeout 120 "$JAVA" -Xmx1g "$BENCH_DIR/LoadGen.java" --name warmup --url "$(pdp_url "$n")" --header "$AUTH_PDP" \
        --bodies "$WORK/bodies/pdp-${path%%:*}.jsonl" --mode closed --concurrency 16 --warmup 0 \
        --duration "${path##*:}" >/dev/null 2>&1 || true
    done
    cur="$("$JAVA_HOME/bin/jstat" -compiler "$pid" | awk 'NR == 2 { print $1 }')"
    ((prev >= 0)) && delta=$((cur - prev))
    if ((delta >= 0 && delta < 10 && SECONDS - started >= WARMUP)); then break; fi
    prev="$cur"
  done
  log "[$2] warm-up: $((SECONDS - started))s, $cur JIT compilations"
  printf '{"seconds": %d, "jit_compilations": %d, "last_piece_compilations": %d}\n' "$((SECONDS - started))" "$cur" \
    "$delta" >"$3"
}

ACTIVE_PDPS=""   # comma-separated PIDs of the PDP instances under load
cpu_snap() {
  python3 "$BENCH_DIR/util.py" cpu-snap "$1" "pdp=$ACTIVE_PDPS" "opa=$(cat "$STATE/opa.pid")" \
    "openbao=$(cat "$STATE/bao.pid")" "postgres=tree:$(cat "$STATE/postgres.pid")"
}

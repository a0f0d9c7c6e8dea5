# Shared by bench/cpu.sh and bench/soak.sh (sourced, not run): stack, caller JWT, PDP instances, seeding,
# CPU snapshots. The caller sets BENCH_DIR, REPO_ROOT, WORK and calls bench_cleanup from its EXIT trap.
# shellcheck shell=bash

export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
JAVA="$JAVA_HOME/bin/java"
JCMD="$JAVA_HOME/bin/jcmd"
JFR="$JAVA_HOME/bin/jfr"
PDP_JAVA_OPTS="${BENCH_PDP_JAVA_OPTS:--Xms512m -Xmx1g -XX:+ExitOnOutOfMemoryError}"
AGENTS="${BENCH_AGENTS:-1000}"
WARMUP="${BENCH_WARMUP:-45}"            # s, least JIT warm-up per PDP start (DENY and ALLOW), see warm_up
WARMUP_MAX="${BENCH_WARMUP_MAX:-300}"   # s, longest warm-up
STATE="$WORK/stack"
STACK_STARTED=0
PDP_PIDS=()
declare -A API_PORT MGMT_PORT

log() { printf '[%s %s] %s\n' "${BENCH_NAME:-bench}" "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

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

# bench_stack: OPA + OpenBao + PostgreSQL (scripts/stack/start.sh), env sourced, caller JWTs and their key.
bench_stack() {
  mkdir -p "$WORK/pdp" "$WORK/bodies"
  log "starting OPA + OpenBao + PostgreSQL in $STATE"
  STACK_STARTED=1
  PDP_STACK_SKIP_VERIFY=1 "$REPO_ROOT/scripts/stack/start.sh" "$STATE" >"$WORK/stack.log" 2>&1 \
    || { tail -n 30 "$WORK/stack.log" >&2; die "stack did not start"; }
  # shellcheck disable=SC1091
  source "$STATE/env"
  OPA_DECISION_URL="$PDP_OPA_URL/v1/data/agentpdp/decision/result?provenance=true"
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/jwt-key.pem" 2>/dev/null
  openssl pkey -in "$WORK/jwt-key.pem" -pubout -out "$WORK/jwt-pub.pem"
  JWT="$(python3 "$BENCH_DIR/util.py" jwt "$WORK/jwt-key.pem" bench-caller bench agent-pdp decide 7200)"
  AUTH_PDP="Authorization: Bearer $JWT"
}

# The stack's durability settings, as JSON (the figures depend on them).
bench_pg_settings() {
  PGPASSWORD="$SPRING_FLYWAY_PASSWORD" "$PDP_PG_BIN_DIR/psql" -X -At -h 127.0.0.1 -p "$PDP_PG_PORT" \
    -U "$SPRING_FLYWAY_USER" -d agentpdp -c "select json_object_agg(name, setting) from pg_settings
      where name in ('fsync', 'synchronous_commit', 'full_page_writes', 'commit_delay')" 2>/dev/null || echo null
}

# start_pdp N JAR [extra java options]: instance N on its own ports, bench settings (see bench/README.md).
start_pdp() {
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
  setsid "$JAVA" $PDP_JAVA_OPTS "$@" -jar "$jar" >"$WORK/pdp/pdp$n.log" 2>&1 </dev/null &
  PDP_PIDS+=("$!")
  echo "$!" >"$WORK/pdp/pdp$n.pid"
  local pid=$! deadline=$((SECONDS + 180))
  until curl -fsS --max-time 2 "http://127.0.0.1:${MGMT_PORT[$n]}/actuator/health/readiness" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { tail -n 40 "$WORK/pdp/pdp$n.log" >&2; die "PDP #$n exited"; }
    ((SECONDS < deadline)) || { tail -n 40 "$WORK/pdp/pdp$n.log" >&2; die "PDP #$n not ready after 180s"; }
    sleep 0.5
  done
  log "PDP #$n ready (pid $pid)"
}
stop_pdp() {
  local pid; pid="$(cat "$WORK/pdp/pdp$1.pid")"
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

# seed_bench: the bench tenant of bench/README.md (agents, two tools, one classification) and the bodies.
seed_bench() {
  log "seeding tenant 'bench': $AGENTS agents"
  bench_psql -v agents="$AGENTS" <<'SQL'
insert into agent (tenant_id, agent_id, owner, allowed_tools, home_systems, max_chain_depth)
select 'bench', 'bench-agent-' || g, 'bench-owner', array['crm.contacts.read', 'crm.contacts.update'], array['crm'], null
from generate_series(1, :agents) g;
insert into tool (tenant_id, name, target_system, action_kinds, risk_tier, read_only, updated_by)
values ('bench', 'crm.contacts.read', 'crm', array['read'], 'low', true, 'bench'),
       ('bench', 'crm.contacts.update', 'crm', array['write'], 'medium', false, 'bench');
insert into classification_rule (tenant_id, id, system, resource_prefix, system_folded, prefix_folded, level, updated_by)
values ('bench', gen_random_uuid(), 'crm', 'contacts', 'crm', 'contacts', 'internal', 'bench');
analyze agent; analyze tool; analyze classification_rule;
SQL
  python3 "$BENCH_DIR/util.py" bodies "$WORK/bodies" "$AGENTS"
}

# loadgen NAME OUT.json [LoadGen args...]: one measurement with CPU accounting of every process, load average
# before/after. BENCH_LOADGEN_CPUS (e.g. "0") pins the load generator with taskset.
loadgen() {
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

ACTIVE_PDPS=""
cpu_snap() {
  python3 "$BENCH_DIR/util.py" cpu-snap "$1" "pdp=$ACTIVE_PDPS" "opa=$(cat "$STATE/opa.pid")" \
    "openbao=$(cat "$STATE/bao.pid")" "postgres=tree:$(cat "$STATE/postgres.pid")"
}

#!/usr/bin/env bash
# Is one tenant a serialisation point? (issue 18, item 2) With production durability, one tenant's load against the
# same load spread over 16 tenants:
#   A. the recording statement alone (pgbench, AuditTrail.recordDecision of a DENY, read from the source), 8 and 32
#      clients; the same for the statement before the linker (git main's AuditTrail, per-tenant audit_chain_head row)
#      on a copy of its tables, for contrast;
#   B. the PDP's DENY peak (bench/LoadGen.java, closed loop) with 1 and 3 PDP instances.
# Prints and writes bench/results/tenants-<UTC>.json and bench/results/tenants-latest.json. Every figure carries the
# machine's load average (1 min) when it started. See bench/README.md.
#
# Knobs: BENCH_DURABLE (1; 0 = the fast test stack, labelled non-durable in the report), BENCH_JAR,
# BENCH_DB_DURATION (15 s per pgbench run), BENCH_PDP_DURATION (12 s per PDP run), BENCH_PDP_WARMUP (30 s per instance),
# BENCH_PDP_CONCURRENCY (8), BENCH_REPLICAS ("1 3"), BENCH_LEGACY_REF (fb29068: where the old statement is read),
# BENCH_MAX_SECONDS (900).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd "$BENCH_DIR/.." && pwd -P)"
BENCH_NAME=tenants
WORK="$(mktemp -d /tmp/agent-pdp-tenants.XXXXXX)"
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"   # stack (BENCH_DURABLE), PDP instances, seeding
JAR="${BENCH_JAR:-$REPO_ROOT/target/agent-pdp.jar}"
DB_DURATION="${BENCH_DB_DURATION:-15}"
PDP_DURATION="${BENCH_PDP_DURATION:-12}"
PDP_WARMUP="${BENCH_PDP_WARMUP:-30}"
PDP_CONCURRENCY="${BENCH_PDP_CONCURRENCY:-8}"   # at 32 in flight OPA misses its 250 ms deadline on 2 cores
REPLICAS="${BENCH_REPLICAS:-1 3}"
LEGACY_REF="${BENCH_LEGACY_REF:-fb29068}"   # the last commit whose recording statement advanced the head row
MAX_SECONDS="${BENCH_MAX_SECONDS:-900}"
RESULTS="${BENCH_RESULTS_DIR:-$BENCH_DIR/results}"

loadavg() { cut -d' ' -f1 /proc/loadavg; }   # the 1-minute figure only, in this report
if [[ ! -f "$JAR" ]]; then (cd "$REPO_ROOT" && ./mvnw -B -q -DskipTests package) || die "build failed"; fi

mkdir -p "$WORK/steps" "$RESULTS"
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  bench_cleanup
  if [[ "${BENCH_KEEP_WORK:-0}" == 1 ]]; then log "work dir kept: $WORK"; else rm -rf -- "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'log "time bound reached"; exit 124' TERM
( sleep "$MAX_SECONDS"; kill -TERM $$ 2>/dev/null ) </dev/null >/dev/null 2>&1 &
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"

# --- stack, PDP #1 (runs the migrations), tenants bench-t1..bench-t16 with AGENTS agents each ------------------
bench_stack
PSQL=("$PDP_PG_BIN_DIR/psql" -X -q -At -h 127.0.0.1 -p "$PDP_PG_PORT" -U "$SPRING_FLYWAY_USER" -d agentpdp -v ON_ERROR_STOP=1)
export PGPASSWORD="$SPRING_FLYWAY_PASSWORD"
python3 "$BENCH_DIR/util.py" durability "$WORK/steps/durability.json"
start_pdp 1 "$JAR"
# shellcheck disable=SC2046
seed_tenants $(printf 'bench-t%d ' $(seq 16))

# --- A. the recording statement alone (pgbench) --------------------------------------------------------------
# The old statement (per-tenant head row) runs on copies of its tables in schema legacy, with its columns.
mkdir -p "$WORK/legacy/src/main/java/io/agentpdp/audit"
if git -C "$REPO_ROOT" show "$LEGACY_REF:src/main/java/io/agentpdp/audit/AuditTrail.java" \
     >"$WORK/legacy/src/main/java/io/agentpdp/audit/AuditTrail.java" 2>/dev/null \
   && grep -q 'audit_chain_head' "$WORK/legacy/src/main/java/io/agentpdp/audit/AuditTrail.java"; then
  "${PSQL[@]}" <<'SQL'
create schema legacy;
create table legacy.decision_record (like public.decision_record including defaults);
alter table legacy.decision_record add primary key (id), add column chain_seq bigint, add column record_hash text;
create unique index on legacy.decision_record (tenant_id, chain_seq);
create index on legacy.decision_record (tenant_id, agent_id, decided_at);
create table legacy.audit_chain_head (tenant_id text primary key, seq bigint not null, last_hash text not null);
create table legacy.issued_credential (like public.issued_credential including all);
SQL
  LEGACY=1
else
  log "no legacy statement at $LEGACY_REF; the contrast is skipped"; LEGACY=0
fi
pgbench_run() { # NAME SCRIPT CLIENTS SEARCH_PATH
  local name="$1" script="$2" clients="$3" path="$4" la
  la="$(loadavg)"
  if ! PGOPTIONS="-c search_path=$path" timeout $((DB_DURATION + 60)) "$PDP_PG_BIN_DIR/pgbench" -n -M prepared \
       -h 127.0.0.1 -p "$PDP_PG_PORT" -U "$SPRING_FLYWAY_USER" -j 2 -c "$clients" -T "$DB_DURATION" \
       -D agents="$AGENTS" -f "$script" agentpdp >"$WORK/$name.out" 2>&1; then
    log "$name failed: $(tail -n 3 "$WORK/$name.out" | tr '\n' ' ')"; return 0
  fi
  python3 "$BENCH_DIR/util.py" pgbench-summary "$WORK/$name.out" "$WORK/steps/$name.json" "$name" "$clients" "$la" "$(loadavg)"
}
DB="${BENCH_TENANTS_DB:-1}"   # 0 skips part A
((DB)) && log "== A. recording statement alone (pgbench -M prepared, ${DB_DURATION}s each)"
for t in 1 16; do
  python3 "$BENCH_DIR/util.py" statement-sql audit "$REPO_ROOT" "$WORK/audit-t$t.sql" "$t"
  if ((LEGACY)); then python3 "$BENCH_DIR/util.py" statement-sql audit "$WORK/legacy" "$WORK/legacy-t$t.sql" "$t"; fi
done
for c in 8 32; do
  ((DB)) || break
  for t in 1 16; do
    pgbench_run "db_linker_t${t}_c$c" "$WORK/audit-t$t.sql" "$c" public
    if ((LEGACY)); then pgbench_run "db_head_row_t${t}_c$c" "$WORK/legacy-t$t.sql" "$c" "legacy,public"; fi
  done
done
# pgbench left its records pending; the PDP's linker links them before part B.

# --- B. the PDP's DENY peak, 1 tenant vs 16 tenants, 1 and 3 instances -------------------------------------
python3 "$BENCH_DIR/util.py" tenant-bodies "$WORK" "$WORK/jwt-key.pem" 1 "$AGENTS"
python3 "$BENCH_DIR/util.py" tenant-bodies "$WORK" "$WORK/jwt-key.pem" 16 "$AGENTS"
tenant_run() { # NAME URLS BODIES DURATION [WARMUP]
  local name="$1" urls="$2" bodies="$3" duration="$4" warmup="${5:-2}" la out
  la="$(loadavg)"
  out="$(timeout 300 "$JAVA" -Xmx512m "$BENCH_DIR/LoadGen.java" --name "$name" --url "$urls" --bearer-per-line \
         --bodies "$bodies" --contains "$DENY_OK" --mode closed --concurrency "$PDP_CONCURRENCY" --warmup "$warmup" \
         --duration "$duration" 2>"$WORK/$name.err")" || { log "$name failed: $(tail -n 3 "$WORK/$name.err")"; return 0; }
  printf '%s' "$out" >"$WORK/$name.out"
  python3 "$BENCH_DIR/util.py" loadgen-summary "$WORK/$name.out" "$WORK/steps/$name.json" "$la" "$(loadavg)"
}
URLS=""
for n in $REPLICAS; do
  for ((i = 2; i <= n; i++)); do [[ -n "${API_PORT[$i]:-}" ]] || start_pdp "$i" "$JAR"; done
  URLS="$(for ((i = 1; i <= n; i++)); do printf 'http://127.0.0.1:%s/v1/decisions,' "${API_PORT[$i]}"; done)"; URLS="${URLS%,}"
  # Each instance gets 1/n of the warm-up's requests: n times as long. The order is A B B A, so that a JVM still
  # warming up (throughput rising through the runs) favours neither side of the mean.
  log "== B. PDP DENY peak with $n instance(s): warm-up $((PDP_WARMUP * n))s"
  tenant_run "warmup-x$n" "$URLS" "$WORK/pdp-deny-tenants16.jsonl" "$((PDP_WARMUP * n))" 0 >/dev/null 2>&1 || true
  for t in 1 16 16 1; do
    suffix=""; [[ -f "$WORK/steps/pdp_deny_x${n}_t$t.json" ]] && suffix="_run2"
    tenant_run "pdp_deny_x${n}_t$t$suffix" "$URLS" "$WORK/pdp-deny-tenants$t.jsonl" "$PDP_DURATION"
  done
done
rm -f "$WORK"/steps/warmup-*.json

# --- linker: every record linked and the chains valid after all this --------------------------------------
sleep 2
"${PSQL[@]}" -c "select json_build_object('pending_after_run', (select count(*) from audit_pending_link),
  'linked', (select count(*) from audit_link),
  'records', (select count(*) from public.decision_record))" >"$WORK/steps/linker.json"

# --- report --------------------------------------------------------------------------------------------------
python3 "$BENCH_DIR/util.py" tenants-report "$WORK/steps" "$RESULTS/tenants-$STAMP.json" "$STAMP" "$DURABLE" "$REPO_ROOT"
cp "$RESULTS/tenants-$STAMP.json" "$RESULTS/tenants-latest.json"
python3 "$BENCH_DIR/util.py" tenants-table "$RESULTS/tenants-latest.json"

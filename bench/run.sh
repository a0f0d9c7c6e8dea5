#!/usr/bin/env bash
# agent-pdp benchmark: real OPA + OpenBao + PostgreSQL on loopback, 1..3 PDP instances, one run. Production
# durability by default (BENCH_DURABLE=1: PostgreSQL fsync/synchronous_commit/full_page_writes on, OpenBao on raft
# storage on disk); BENCH_DURABLE=0 runs on the fast test stack and labels the report NON-DURABLE.
# See bench/README.md. Usage: bench/run.sh   (knobs: BENCH_* environment variables, listed below)
#
# Writes bench/results/<UTC timestamp>.json and bench/results/latest.json (+ pdp.jfr, profile text).
# Everything started here is stopped on exit (trap); the whole run is bounded by BENCH_MAX_SECONDS.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd "$BENCH_DIR/.." && pwd -P)"
BENCH_NAME=bench
WORK="$(mktemp -d /tmp/agent-pdp-bench.XXXXXX)"
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"   # stack, PDP instances, seeding, measure (BENCH_DURABLE, BENCH_AGENTS, BENCH_PDP_JAVA_OPTS)

# --- knobs ---------------------------------------------------------------------------------------
JAR="${BENCH_JAR:-$REPO_ROOT/target/agent-pdp.jar}"
PEAK_WARMUP="${BENCH_PEAK_WARMUP:-10}"               # s, closed loop warm-up per target (not measured)
PEAK_DURATION="${BENCH_PEAK_DURATION:-12}"           # s, measured per concurrency level
PEAK_CONCURRENCY="${BENCH_PEAK_CONCURRENCY:-8 32}"   # closed-loop levels tried; peak = best of them
RATE_WARMUP="${BENCH_RATE_WARMUP:-5}"                # s, constant-rate warm-up (JVMs are warm by then)
RATE_DURATION="${BENCH_RATE_DURATION:-15}"           # s, constant-rate measured
RATE_CONNECTIONS="${BENCH_RATE_CONNECTIONS:-32}"     # connections (workers) of the open-model generator
RATE_FRACTION="${BENCH_RATE_FRACTION:-0.5}"          # constant rate = this fraction of the PDP's own peak
DB_DURATION="${BENCH_DB_DURATION:-10}"               # s per pgbench run
DB_CLIENTS="${BENCH_DB_CLIENTS:-8}"
SCALING="${BENCH_SCALING:-1}"                        # 0 skips the 2/3-instance runs
SCALING_WARMUP="${BENCH_SCALING_WARMUP:-20}"         # s, closed-loop warm-up for the fresh instances
PDP_WARMUP="${BENCH_PDP_WARMUP:-40}"                 # s, JIT warm-up of PDP #1 before anything is measured
MAX_SECONDS="${BENCH_MAX_SECONDS:-1200}"             # hard bound for the whole run
RESULTS="${BENCH_RESULTS_DIR:-$BENCH_DIR/results}"

if [[ ! -f "$JAR" ]]; then
  log "building $JAR"
  (cd "$REPO_ROOT" && ./mvnw -B -q -DskipTests package) || die "build failed"
fi

# --- state, cleanup, time bound ------------------------------------------------------------------
STEPS="$WORK/steps"           # one JSON file per measurement; composed at the end
mkdir -p "$STEPS" "$RESULTS" "$WORK/pdp" "$WORK/bodies" "$WORK/pgbench"
WATCHDOG=""
WATCHDOG_SLEEP=""

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -n "$WATCHDOG" ]] && kill "$WATCHDOG" 2>/dev/null || true
  [[ -n "$WATCHDOG_SLEEP" ]] && kill "$WATCHDOG_SLEEP" 2>/dev/null || true
  bench_cleanup
  if [[ "${BENCH_KEEP_WORK:-0}" == 1 ]]; then log "work dir kept: $WORK"; else rm -rf -- "$WORK"; fi
  log "stopped everything (exit $rc)"
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated (time bound ${MAX_SECONDS}s reached?)"; exit 124' TERM
sleep "$MAX_SECONDS" </dev/null >/dev/null 2>&1 &
WATCHDOG_SLEEP=$!
( wait_for_sleep() { while kill -0 "$WATCHDOG_SLEEP" 2>/dev/null; do sleep 2; done; }
  wait_for_sleep; kill -0 $$ 2>/dev/null && { log "time bound of ${MAX_SECONDS}s reached; stopping"; kill -TERM $$; } ) </dev/null >/dev/null 2>&1 &
WATCHDOG=$!

BENCH_START=$SECONDS
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
# --- scoped credentials (issue 15): tenant layout, credential profiles, dynamic-secret measurement ---------
CRED_DURATION="${BENCH_CRED_DURATION:-8}"            # s, measured per level for the dynamic-secret pair
CRED_CONCURRENCY="${BENCH_CRED_CONCURRENCY:-8}"      # closed-loop level of the dynamic-secret pair
# Decide + dynamic secret (db.query: read, renew to the decided TTL, wrap) against raw database/creds.
bench_dynamic_secrets() {
  local c="$CRED_CONCURRENCY"
  log "== dynamic secrets: PDP db.query (wrapped PostgreSQL login) vs raw database/creds/bench.crm-read, concurrency $c"
  loadgen peak_pdp_dynamic --url "$(pdp_url 1)" --header "$AUTH_PDP" --bodies "$WORK/bodies/pdp-dynamic.jsonl" \
    --contains '"type":"wrapped_secret"' --mode closed --concurrency "$c" --warmup 2 --duration "$CRED_DURATION"
  loadgen peak_vault_dbcreds --url "$PDP_VAULT_URL/v1/database/creds/bench.crm-read" --header "$AUTH_VAULT" \
    --contains '"lease_id"' --mode closed --concurrency "$c" --warmup 2 --duration "$CRED_DURATION"
}

# --- stack, PDP #1, the bench tenant ----------------------------------------------------------------
bench_stack
# The durability settings as they are, and the data disk's fsync latency (pg_test_fsync): printed and in the report.
python3 "$BENCH_DIR/util.py" durability "$STEPS/durability.json" || die "could not read the durability settings"
# The bench tenant's token role (agent-pdp.bench: policies tenant.bench.* only), as the PDP mints through it.
VAULT_CREATE_URL="$PDP_VAULT_URL/v1/auth/token/create/${PDP_VAULT_TOKEN_ROLE//\{tenant\}/bench}"
prom_url() { printf 'http://127.0.0.1:%s/actuator/prometheus' "${MGMT_PORT[$1]}"; }
start_pdp 1 "$JAR" -XX:FlightRecorderOptions=stackdepth=512   # Flyway has run once it is ready
ACTIVE_PDPS="$(pdp_pid 1)"
seed_bench 1

# JIT warm-up of PDP #1 on both paths before any measurement: on 2 cores the C2 compiler threads would
# otherwise still be busy during the first (DENY) measurement and count as PDP CPU there.
log "PDP #1 warm-up: ${PDP_WARMUP}s DENY, $((PDP_WARMUP / 4))s ALLOW (not measured)"
for path in deny:"$PDP_WARMUP" allow:"$((PDP_WARMUP / 4))"; do
  timeout 300 "$JAVA" -Xmx1g "$BENCH_DIR/LoadGen.java" --name "pdp-warmup-${path%%:*}" --url "$(pdp_url 1)" \
    --header "Authorization: Bearer $JWT" --bodies "$WORK/bodies/pdp-${path%%:*}.jsonl" --mode closed \
    --concurrency 16 --warmup 0 --duration "${path##*:}" >/dev/null 2>&1 || true
done

# --- measurement helpers -----------------------------------------------------------------------------
AUTH_VAULT="X-Vault-Token: $PDP_VAULT_TOKEN"
REUSE_OK='"credential":{"type":"reuse"'
OPA_OK='"reasons":["chain_mismatch"]'
VAULT_OK='"wrapped_accessor"'

# loadgen STEP_NAME ARGS... -> $STEPS/STEP_NAME.json (lib.sh measure); never aborts the run.
loadgen() { local name="$1"; shift; measure "$name" "$STEPS/$name.json" "$@"; }
# peak STEP_NAME ARGS...: closed-loop warm-up, then one measurement per concurrency level; the best one
# is STEP_NAME.json (all levels are kept in it under "levels").
peak() {
  local name="$1"; shift
  log "peak $name: warm-up ${PEAK_WARMUP}s"
  timeout 300 "$JAVA" -Xmx1g "$BENCH_DIR/LoadGen.java" --name "$name-warmup" "$@" --mode closed --concurrency 16 \
    --warmup 0 --duration "$PEAK_WARMUP" >/dev/null 2>&1 || true
  local c levels=()
  for c in $PEAK_CONCURRENCY; do
    loadgen "$name-c$c" "$@" --mode closed --concurrency "$c" --warmup 2 --duration "$PEAK_DURATION"
    levels+=("$STEPS/$name-c$c.json")
  done
  python3 - "$STEPS/$name.json" "${levels[@]}" <<'PY'
import json, os, sys
levels = [json.load(open(p)) for p in sys.argv[2:]]
ok = [l for l in levels if "throughput_rps" in l]
best = dict(max(ok, key=lambda l: l["throughput_rps"])) if ok else {"error": "no successful level"}
best["levels"] = [{k: l.get(k) for k in ("concurrency", "throughput_rps", "latency_ms", "errors", "error")} for l in levels]
json.dump(best, open(sys.argv[1], "w"))
for p in sys.argv[2:]:
    os.remove(p)
PY
}
rate_of() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(round(float(d.get("throughput_rps") or 0)*float(sys.argv[2]), 1))' "$1" "$2"; }
prom() { python3 "$BENCH_DIR/util.py" prom-sum "$@"; }
bao_token_creates() {
  curl -sS --max-time 5 -H "X-Vault-Token: $PDP_VAULT_ROOT_TOKEN" "$PDP_VAULT_URL/v1/sys/metrics?format=prometheus" 2>/dev/null \
    | awk '$1 == "vault_token_create_count" { print $2; found=1 } END { if (!found) print "null" }'
}
# snapshot FILE: Vault-call counters (PDP metric of instance 1 + OpenBao's own token-create counter)
snapshot() {
  printf '{"pdp_vault_calls": %s, "pdp_decisions_deny": %s, "pdp_decisions_allow": %s, "openbao_token_creates": %s}\n' \
    "$(prom "$(prom_url 1)" pdp_dependency_duration_seconds_count dependency=vault)" \
    "$(prom "$(prom_url 1)" pdp_decisions_total outcome=DENY)" \
    "$(prom "$(prom_url 1)" pdp_decisions_total outcome=ALLOW)" \
    "$(bao_token_creates)" >"$1"
}

# --- 1. closed-loop peaks (single PDP instance) ----------------------------------------------------------
log "== peaks (closed loop, concurrency levels: $PEAK_CONCURRENCY)"
peak peak_opa_deny --url "$OPA_DECISION_URL" --bodies "$WORK/bodies/opa-deny.jsonl" --contains "$OPA_OK"

snapshot "$WORK/snap-deny-before.json"
PDP1_PID="$(pdp_pid 1)"
"$JCMD" "$PDP1_PID" JFR.start name=bench settings=profile filename="$RESULTS/pdp.jfr" >/dev/null 2>&1 \
  || log "JFR.start failed; no profile"
peak peak_pdp_deny --url "$(pdp_url 1)" --header "$AUTH_PDP" --bodies "$WORK/bodies/pdp-deny.jsonl" --contains "$DENY_OK"
"$JCMD" "$PDP1_PID" JFR.stop name=bench >/dev/null 2>&1 || true
snapshot "$WORK/snap-deny-after.json"

R_DENY="$(rate_of "$STEPS/peak_pdp_deny.json" "$RATE_FRACTION")"
RATE_ARGS=(--mode rate --concurrency "$RATE_CONNECTIONS" --warmup "$RATE_WARMUP" --duration "$RATE_DURATION")
# --- 2a. constant rate (open model), DENY path, at a fraction of the PDP's own peak ------------------------
# (before any minting: OpenBao expires the minted wrapping tokens later, which costs CPU in later runs)
log "== constant rate: DENY path at $R_DENY req/s (${RATE_FRACTION} x PDP DENY peak), PDP then raw OPA"
if [[ "$R_DENY" != 0 && "$R_DENY" != 0.0 ]]; then
  snapshot "$WORK/snap-deny-rate-before.json"
  loadgen rate_pdp_deny --url "$(pdp_url 1)" --header "$AUTH_PDP" --bodies "$WORK/bodies/pdp-deny.jsonl" \
    --contains "$DENY_OK" --rate "$R_DENY" "${RATE_ARGS[@]}"
  snapshot "$WORK/snap-deny-rate-after.json"
  loadgen rate_opa_deny --url "$OPA_DECISION_URL" --bodies "$WORK/bodies/opa-deny.jsonl" --contains "$OPA_OK" \
    --rate "$R_DENY" "${RATE_ARGS[@]}"
fi

# --- 2b. ALLOW with per-task credential reuse (no mint): peak, then constant rate ---------------------------
# One minted credential per agent (its task), then the same ALLOW naming it: the PDP confirms it instead of
# minting. Measured within the credentials' lifetime (low_risk_read: 300 s; reuse needs >= 15 s left).
log "== ALLOW with credential reuse: minting one credential per agent to reuse"
python3 "$BENCH_DIR/util.py" reuse-bodies "$(pdp_url 1)" "$JWT" "$WORK/bodies/pdp-allow.jsonl" \
  "$WORK/bodies/pdp-reuse.jsonl" >/dev/null || die "seeding the credentials to reuse failed"
snapshot "$WORK/snap-reuse-before.json"
peak peak_pdp_reuse --url "$(pdp_url 1)" --header "$AUTH_PDP" --bodies "$WORK/bodies/pdp-reuse.jsonl" --contains "$REUSE_OK"
R_REUSE="$(rate_of "$STEPS/peak_pdp_reuse.json" "$RATE_FRACTION")"
if [[ "$R_REUSE" != 0 && "$R_REUSE" != 0.0 ]]; then
  loadgen rate_pdp_reuse --url "$(pdp_url 1)" --header "$AUTH_PDP" --bodies "$WORK/bodies/pdp-reuse.jsonl" \
    --contains "$REUSE_OK" --rate "$R_REUSE" "${RATE_ARGS[@]}"
fi
snapshot "$WORK/snap-reuse-after.json"

# --- 2c. ALLOW path (mint) and raw token create: peaks, then constant rate --------------------------------
# (the PDP mints with the tool's credential profile bench-reader through agent-pdp.bench; the raw create asks
# that role for the same policy: decide + scoped mint against raw token create with the same policies)
snapshot "$WORK/snap-allow-before.json"
peak peak_pdp_allow --url "$(pdp_url 1)" --header "$AUTH_PDP" --bodies "$WORK/bodies/pdp-allow.jsonl" --contains "$ALLOW_OK"
snapshot "$WORK/snap-allow-after.json"
peak peak_vault_create --url "$VAULT_CREATE_URL" --header "$AUTH_VAULT" --header "X-Vault-Wrap-TTL: 60s" \
  --bodies "$WORK/bodies/vault-create.jsonl" --contains "$VAULT_OK"
R_ALLOW="$(rate_of "$STEPS/peak_pdp_allow.json" "$RATE_FRACTION")"
log "== constant rate: ALLOW path at $R_ALLOW req/s (${RATE_FRACTION} x PDP ALLOW peak), PDP then raw token create"
if [[ "$R_ALLOW" != 0 && "$R_ALLOW" != 0.0 ]]; then
  loadgen rate_pdp_allow --url "$(pdp_url 1)" --header "$AUTH_PDP" --bodies "$WORK/bodies/pdp-allow.jsonl" \
    --contains "$ALLOW_OK" --rate "$R_ALLOW" "${RATE_ARGS[@]}"
  loadgen rate_vault_create --url "$VAULT_CREATE_URL" --header "$AUTH_VAULT" --header "X-Vault-Wrap-TTL: 60s" \
    --bodies "$WORK/bodies/vault-create.jsonl" --contains "$VAULT_OK" --rate "$R_ALLOW" "${RATE_ARGS[@]}"
fi

python3 - "$WORK" "$STEPS/vault_calls_during_deny.json" <<'PY'
import json, os, sys
w = sys.argv[1]
def snap(n):
    p = os.path.join(w, n)
    return json.load(open(p)) if os.path.exists(p) else None
def delta(a, b, k):
    return None if not a or not b or a.get(k) is None or b.get(k) is None else b[k] - a[k]
out = {}
for label, before, after in (("deny_peak", "snap-deny-before.json", "snap-deny-after.json"),
                             ("deny_constant_rate", "snap-deny-rate-before.json", "snap-deny-rate-after.json"),
                             ("reuse_peak_and_rate", "snap-reuse-before.json", "snap-reuse-after.json"),
                             ("allow_peak_for_contrast", "snap-allow-before.json", "snap-allow-after.json")):
    a, b = snap(before), snap(after)
    out[label] = {k: delta(a, b, k) for k in ("pdp_decisions_deny", "pdp_decisions_allow", "pdp_vault_calls", "openbao_token_creates")}
runs = [out["deny_peak"], out["deny_constant_rate"]]
out["no_vault_call"] = all(r["pdp_vault_calls"] == 0 and (r["openbao_token_creates"] in (0, None)) and (r["pdp_decisions_deny"] or 0) > 0
                           for r in runs if r["pdp_decisions_deny"] is not None)
reuse = out["reuse_peak_and_rate"]
out["reuse_no_vault_call"] = None if reuse["pdp_decisions_allow"] is None else (
    reuse["pdp_vault_calls"] == 0 and reuse["openbao_token_creates"] in (0, None) and reuse["pdp_decisions_allow"] > 0)
out["method"] = ("PDP metric pdp_dependency_duration_seconds_count{dependency=vault} (management port /actuator/prometheus) "
                 "and OpenBao's vault_token_create_count (sys/metrics) before/after each DENY run; the ALLOW peak is the contrast.")
json.dump(out, open(sys.argv[2], "w"))
PY

# --- 2d. scoped credentials (issue 15): decide + dynamic secret vs raw database/creds ----------------------
bench_dynamic_secrets

# --- 3. scaling: 2 and 3 instances on the same PostgreSQL / OPA / OpenBao ---------------------------------
if [[ "$SCALING" == 1 ]]; then
  log "== scaling: starting PDP #2 and #3"
  launch_pdp 2 "$JAR"; launch_pdp 3 "$JAR"
  wait_ready 2; wait_ready 3
  ACTIVE_PDPS="$(pdp_pid 1),$(pdp_pid 2)"
  PEAK_WARMUP_SINGLE="$PEAK_WARMUP"   # the report states the single-instance warm-up
  PEAK_WARMUP="$SCALING_WARMUP"
  peak peak_pdp_deny_x2 --url "$(pdp_url 1),$(pdp_url 2)" --header "$AUTH_PDP" --bodies "$WORK/bodies/pdp-deny.jsonl" --contains "$DENY_OK"
  ACTIVE_PDPS="$ACTIVE_PDPS,$(pdp_pid 3)"
  peak peak_pdp_deny_x3 --url "$(pdp_url 1),$(pdp_url 2),$(pdp_url 3)" --header "$AUTH_PDP" --bodies "$WORK/bodies/pdp-deny.jsonl" --contains "$DENY_OK"
  for n in 3 2; do
    kill -TERM "$(pdp_pid "$n")" 2>/dev/null || true
  done
fi

# --- 4. the PDP's database statements alone (pgbench) ------------------------------------------------------
log "== database statements alone (pgbench, $DB_CLIENTS clients)"
PGBENCH="$PDP_PG_BIN_DIR/pgbench"
# The PDP's own two statements, read from its source with the DENY path's values bound (no copy to drift).
python3 "$BENCH_DIR/util.py" statement-sql context "$REPO_ROOT" "$WORK/pgbench/context.sql"
python3 "$BENCH_DIR/util.py" statement-sql audit "$REPO_ROOT" "$WORK/pgbench/audit.sql"
{ cat "$WORK/pgbench/context.sql"; grep -v '^\\set' "$WORK/pgbench/audit.sql"; } >"$WORK/pgbench/decision.sql"
# pgbench_run STEP SCRIPT [extra pgbench args]
pgbench_run() {
  local name="$1" script="$2"; shift 2
  local dir="$WORK/pgbench/$name" la
  mkdir -p "$dir"; la="$(loadavg)"
  if (cd "$dir" && PGPASSWORD="$SPRING_DATASOURCE_PASSWORD" timeout 120 "$PGBENCH" -n -M prepared -h 127.0.0.1 \
        -p "$PDP_PG_PORT" -U "$SPRING_DATASOURCE_USERNAME" -j 2 -T "$DB_DURATION" -D agents="$AGENTS" -l \
        -f "$script" "$@" agentpdp >"$dir/out.txt" 2>&1); then
    python3 "$BENCH_DIR/util.py" pgbench-stats "$dir" "$DB_DURATION" | python3 -c 'import json,sys
d=json.load(sys.stdin); d.update(name=sys.argv[1], tool="pgbench -M prepared", args=sys.argv[2], loadavg_before=sys.argv[3]); print(json.dumps(d))' \
      "$name" "$*" "$la" >"$STEPS/$name.json"
    python3 "$BENCH_DIR/util.py" line "$STEPS/$name.json" >&2
  else
    log "  $name failed: $(tail -n 3 "$dir/out.txt" | tr '\n' ' ')"
    python3 -c 'import json,sys; print(json.dumps({"error": sys.argv[1]}))' "$(tail -n 3 "$dir/out.txt")" >"$STEPS/$name.json"
  fi
  rm -f "$dir"/pgbench_log.*
}
pgbench_run db_peak_context_select "$WORK/pgbench/context.sql" -c "$DB_CLIENTS"
pgbench_run db_peak_audit_insert "$WORK/pgbench/audit.sql" -c "$DB_CLIENTS"
pgbench_run db_peak_decision_both "$WORK/pgbench/decision.sql" -c "$DB_CLIENTS"
if [[ "$R_DENY" != 0 && "$R_DENY" != 0.0 ]]; then
  # The DB work of the DENY path at the PDP's constant rate (select + insert per transaction; pgbench's
  # --rate latency counts from the scheduled start, like LoadGen's).
  pgbench_run db_rate_decision_both "$WORK/pgbench/decision.sql" -c "$DB_CLIENTS" -R "$R_DENY"
fi

# --- 5. profile --------------------------------------------------------------------------------------------
if [[ -s "$RESULTS/pdp.jfr" ]]; then
  log "== profile ($RESULTS/pdp.jfr)"
  {
    echo "# JFR of PDP #1 during the DENY peak run ($STAMP)"
    "$JFR" view --width 200 hot-methods "$RESULTS/pdp.jfr" 2>&1 || true
    "$JFR" view --width 200 gc "$RESULTS/pdp.jfr" 2>&1 | head -n 30 || true
    "$JFR" view --width 200 cpu-load "$RESULTS/pdp.jfr" 2>&1 | head -n 30 || true
  } >"$RESULTS/pdp-profile.txt"
  python3 "$BENCH_DIR/util.py" jfr-top "$RESULTS/pdp.jfr" "$JFR" 25 >"$STEPS/profile.json" 2>"$WORK/jfr.err" \
    || python3 -c 'import json,sys; print(json.dumps({"error": sys.argv[1]}))' "$(tail -n 3 "$WORK/jfr.err")" >"$STEPS/profile.json"
fi

# --- 6. report ---------------------------------------------------------------------------------------------
python3 - "$STEPS/meta.json" "$STAMP" "$REPO_ROOT" "$JAR" "$AGENTS" "$((SECONDS - BENCH_START))" \
  "$("$JAVA" -version 2>&1 | head -n 1)" "$("$PDP_OPA_BIN" version 2>/dev/null | head -n 1)" \
  "$("$PDP_BAO_BIN" version 2>/dev/null | head -n 1)" "$("$PDP_PG_BIN_DIR/postgres" --version 2>/dev/null)" <<PY
import json, os, platform, subprocess, sys
out, stamp, repo, jar, agents, elapsed, java, opa, bao, pg = sys.argv[1:]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
mem = next((l.split(":", 1)[1].strip() for l in open("/proc/meminfo") if l.startswith("MemTotal")), "?")
try:
    commit = subprocess.run(["git", "-C", repo, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "-C", repo, "status", "--porcelain", "--", "src", "db", "policies", "pom.xml"],
                                capture_output=True, text=True).stdout.strip())
except Exception:
    commit, dirty = None, None
json.dump({
    "timestamp_utc": stamp, "elapsed_s": int(elapsed),
    "machine": {"nproc": os.cpu_count(), "cpu_model": cpu, "mem_total": mem, "kernel": platform.release()},
    "versions": {"java": java, "opa": opa, "openbao": bao, "postgres": pg},
    "git_commit": commit, "git_dirty_src": dirty, "jar": jar,
    "config": {"agents": int(agents), "peak_concurrency_levels": "$PEAK_CONCURRENCY", "peak_warmup_s": ${PEAK_WARMUP_SINGLE:-$PEAK_WARMUP}, "scaling_warmup_s": $SCALING_WARMUP,
               "peak_duration_s": $PEAK_DURATION, "rate_warmup_s": $RATE_WARMUP, "rate_duration_s": $RATE_DURATION,
               "rate_connections": $RATE_CONNECTIONS, "rate_fraction_of_pdp_peak": $RATE_FRACTION,
               "db_clients": $DB_CLIENTS, "db_duration_s": $DB_DURATION, "pdp_java_opts": "$PDP_JAVA_OPTS",
               "pdp_env": {"PDP_QUARANTINE_DENY_THRESHOLD": 1000000000, "PDP_QUARANTINE_RATE_THRESHOLD": 1000000000,
                           "PDP_LIMITS_TENANT_PER_SECOND": 1000000, "PDP_LIMITS_TENANT_BURST": 1000000,
                           "PDP_LIMITS_AGENT_PER_SECOND": 1000000, "PDP_LIMITS_AGENT_BURST": 1000000}},
    "loadavg_end": open("/proc/loadavg").read().split()[:3],
}, open(out, "w"))
PY
python3 "$BENCH_DIR/util.py" compose "$STEPS" "$RESULTS/$STAMP.json"
cp "$RESULTS/$STAMP.json" "$RESULTS/latest.json"
python3 "$BENCH_DIR/util.py" table "$RESULTS/latest.json" >&2 || true
log "results: $RESULTS/$STAMP.json (and latest.json), $((SECONDS - BENCH_START))s"

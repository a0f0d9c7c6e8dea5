#!/usr/bin/env bash
# PostgreSQL's side of a decision (issue 18, items 3 and 4): the statements the PDP runs per DENY and per ALLOW with
# a mint, each with its calls, plans and planning and execution time per call (pg_stat_statements, track_planning,
# nested statements too, so the lookup functions' own queries show), beside every process's CPU per request.
# Closed loop, BENCH_STATEMENTS_CONCURRENCY (8) in flight, BENCH_STATEMENTS_DURATION (20) s per path, after the same
# JIT warm-up as bench/cpu.sh (which also lets autovacuum analyse decision_record: plans change when it does).
#
# BENCH_STATEMENTS_SQL: SQL run as the superuser after the first window, then both paths are measured again on the
# same PDP and data (a what-if, e.g. "alter function decision_activity(...) reset plan_cache_mode" to see the plans
# before migration V31). Needs root (the stack's superuser is reached by peer authentication). pg_stat_statements
# costs some time per statement: the CPU figures of this run are diagnostics, bench/cpu.sh's are the bench's.
# Report: bench/results/statements-<UTC>.json.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd "$BENCH_DIR/.." && pwd -P)"
BENCH_NAME=statements
WORK="$(mktemp -d /tmp/agent-pdp-statements.XXXXXX)"
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

JAR="${BENCH_JAR:-$REPO_ROOT/target/agent-pdp.jar}"
DURATION="${BENCH_STATEMENTS_DURATION:-20}"
CONCURRENCY="${BENCH_STATEMENTS_CONCURRENCY:-8}"
WHAT_IF="${BENCH_STATEMENTS_SQL:-}"
RESULTS="${BENCH_RESULTS_DIR:-$BENCH_DIR/results}"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$RESULTS" "$WORK/steps"
[[ "$(id -u)" -eq 0 ]] || die "needs root: the stack's PostgreSQL superuser is reached by peer authentication"
bench_jar "$JAR"

bench_exit_traps

bench_stack
python3 "$BENCH_DIR/util.py" durability "$WORK/steps/durability.json"
preload_libraries pg_stat_statements
superuser_psql -v ON_ERROR_STOP=1 -c "alter system set pg_stat_statements.track = 'all'" \
  -c "alter system set pg_stat_statements.track_planning = on" -c "select pg_reload_conf()" >/dev/null

start_pdp 1 "$JAR"
seed_bench 1
ACTIVE_PDPS="$(pdp_pid 1)"
warm_up 1 statements "$WORK/steps/warmup.json"

# window NAME: both paths, each with the statements it ran (per call and per decision).
window() {
  local path ok
  for path in deny allow; do
    ok="$DENY_OK"; [[ "$path" == allow ]] && ok="$ALLOW_OK"
    superuser_psql -c "select pg_stat_statements_reset()" -c "select pg_stat_reset_shared('wal')" >/dev/null
    measure "$1_$path" "$WORK/steps/$1_$path.json" --url "$(pdp_url 1)" --header "$AUTH_PDP" --mode closed \
      --concurrency "$CONCURRENCY" --warmup 0 --duration "$DURATION" --bodies "$WORK/bodies/pdp-$path.jsonl" --contains "$ok"
    superuser_psql -c "select coalesce(json_agg(x), '[]') from (select calls, plans,
        round((total_plan_time / calls)::numeric, 4) as plan_ms_per_call, round((total_exec_time / calls)::numeric, 4) as exec_ms_per_call,
        round(((total_plan_time + total_exec_time) / nullif((select sum(calls) from pg_stat_statements
               where query like 'with guard as%'), 0))::numeric, 4) as ms_per_decision,
        round((shared_blks_hit + shared_blks_read)::numeric / calls, 1) as buffers_per_call,
        left(regexp_replace(query, '\s+', ' ', 'g'), 140) as query
        from pg_stat_statements where calls >= 20 order by total_plan_time + total_exec_time desc limit 12) x" \
      >"$WORK/steps/statements_$1_$path.json"
    # WAL per decision: full-page images are what durable inserts into random places of an index cost most.
    superuser_psql -c "select json_build_object('decisions', d, 'wal_records_per_decision', round(wal_records / d, 2),
        'wal_fpi_per_decision', round(wal_fpi / d, 3), 'wal_bytes_per_decision', round(wal_bytes / d))
        from pg_stat_wal, (select nullif(sum(calls), 0) as d from pg_stat_statements where query like 'with guard as%') x" \
      >"$WORK/steps/wal_$1_$path.json"
    log "  $1_$path WAL: $(cat "$WORK/steps/wal_$1_$path.json")"
    python3 - "$WORK/steps/statements_$1_$path.json" "$1_$path" <<'PY' >&2
import json, sys
rows = json.load(open(sys.argv[1]))
print(f"  {sys.argv[2]}: calls plans plan_ms exec_ms ms/decision query")
for r in rows[:6]:
    print(f"    {r['calls']:>6} {r['plans']:>6} {r['plan_ms_per_call']:>8} {r['exec_ms_per_call']:>8} {r['ms_per_decision']} {r['query'][:70]}")
PY
  done
}
window first
if [[ -n "$WHAT_IF" ]]; then
  log "what-if: $WHAT_IF"
  superuser_psql -c "$WHAT_IF" >/dev/null
  printf '%s' "$WHAT_IF" >"$WORK/steps/what_if.sql"
  window what_if
fi

python3 - "$WORK/steps" "$RESULTS/statements-$STAMP.json" "$STAMP" "$REPO_ROOT" "$JAR" <<'PY'
import glob, json, os, subprocess, sys
steps, out, stamp, repo, jar = sys.argv[1:]
doc = {"timestamp_utc": stamp, "jar": jar,
       "git_commit": subprocess.run(["git", "-C", repo, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip(),
       "nproc": os.cpu_count(), "note": "pg_stat_statements loaded (track all, track_planning): diagnostic CPU figures",
       "agents_present_svids": bool(os.environ.get("BENCH_SVID_KEY"))}
for f in sorted(glob.glob(os.path.join(steps, "*"))):
    name = os.path.basename(f).rsplit(".", 1)[0]
    text = open(f).read()
    doc[name] = json.loads(text) if f.endswith(".json") else text
json.dump(doc, open(out, "w"), indent=1)
PY
log "report: $RESULTS/statements-$STAMP.json"

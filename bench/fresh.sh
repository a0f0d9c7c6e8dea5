#!/usr/bin/env bash
# A fresh database is fast from the first decision (issue 18, item 6). On a new database, autovacuum first analyses
# decision_record after about a minute; until then the planner has no statistics for it. Measured here with
# autovacuum switched off for decision_record, so it is never analysed while measured:
#   1. fresh_empty: the first BENCH_FRESH_DURATION seconds (30) of DENY decisions right after migration (cold JVM
#      too, as in a real first deployment), the table empty at the start;
#   2. fresh_100k: 100,000 rows of the same agents inside the trigger windows added, still never analysed, again;
#   3. analysed: ANALYZE decision_record, the same run once more (warm JVM): the reference.
# Closed loop, BENCH_FRESH_CONCURRENCY (8) in flight, production durability. Report: bench/results/fresh-<UTC>.json.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd "$BENCH_DIR/.." && pwd -P)"
BENCH_NAME=fresh
WORK="$(mktemp -d /tmp/agent-pdp-fresh.XXXXXX)"
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

JAR="${BENCH_JAR:-$REPO_ROOT/target/agent-pdp.jar}"
DURATION="${BENCH_FRESH_DURATION:-30}"
CONCURRENCY="${BENCH_FRESH_CONCURRENCY:-8}"
RESULTS="${BENCH_RESULTS_DIR:-$BENCH_DIR/results}"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$RESULTS" "$WORK/steps"
bench_jar "$JAR"

bench_exit_traps

bench_stack
python3 "$BENCH_DIR/util.py" durability "$WORK/steps/durability.json"
# BENCH_FRESH_STATEMENTS=1 (needs root, as the stack's PostgreSQL superuser is reached by peer auth): load
# pg_stat_statements and report each step's statements by total execution time; auto_explain writes the plan (with
# buffers) of every statement slower than 20 ms, as the PDP's own sessions ran it, to the PostgreSQL log. Both cost
# time per statement: the figures of such a run are diagnostics, not the bench's.
STATEMENTS="${BENCH_FRESH_STATEMENTS:-0}"
if [[ "$STATEMENTS" == 1 ]]; then
  preload_libraries "pg_stat_statements, auto_explain"
  # Known only once the library is loaded.
  for setting in "log_min_duration = '20ms'" "log_analyze = on" "log_buffers = on" "log_nested_statements = on" \
                 "sample_rate = 0.2"; do
    superuser_psql -c "alter system set auto_explain.$setting" >/dev/null
  done
  superuser_psql -c "select pg_reload_conf()" >/dev/null
fi
top_statements() { # NAME
  [[ "$STATEMENTS" == 1 ]] || return 0
  superuser_psql -c "select json_agg(x) from (select calls, round(total_exec_time::numeric, 1) as total_ms,
      round((total_exec_time / calls)::numeric, 3) as mean_ms, shared_blks_hit + shared_blks_read as buffers,
      left(regexp_replace(query, '\s+', ' ', 'g'), 160) as query
      from pg_stat_statements order by total_exec_time desc limit 6) x" >"$WORK/steps/statements_$1.json"
  superuser_psql -c "select pg_stat_statements_reset()" >/dev/null
}
start_pdp 1 "$JAR"
ACTIVE_PDPS="$(pdp_pid 1)"
bench_psql -c "alter table decision_record set (autovacuum_enabled = false)"
seed_bench 1
stats() { # NAME: what the planner knows of decision_record right now, and how the audit tables were read so far
  bench_psql -At -c "select json_build_object('step', '$1', 'live_rows', n_live_tup,
      'last_analyze', last_analyze, 'last_autoanalyze', last_autoanalyze, 'reltuples', (select reltuples from pg_class
      where oid = 'decision_record'::regclass), 'scans', (select json_object_agg(relname, json_build_object('seq_scan',
      seq_scan, 'seq_tup_read', seq_tup_read, 'idx_scan', idx_scan)) from pg_stat_user_tables
      where relname in ('decision_record', 'audit_pending_link', 'audit_link', 'issued_credential')))
      from pg_stat_user_tables where relname = 'decision_record'" >"$WORK/steps/stats_$1.json"
}
run() { # NAME
  top_statements "before_$1"
  stats "$1_before"
  measure "$1" "$WORK/steps/$1.json" --url "$(pdp_url 1)" --header "$AUTH_PDP" --bodies "$WORK/bodies/pdp-deny.jsonl" \
    --contains "$DENY_OK" --mode closed --concurrency "$CONCURRENCY" --warmup 0 --duration "$DURATION"
  stats "$1_after"
  top_statements "$1"
}
log "== 1. never analysed, empty at the start (the first ${DURATION}s after migration)"
run fresh_empty
log "== 2. never analysed, 100,000 rows added"
bench_psql -v agents="$AGENTS" <<'SQL'
insert into decision_record (id, tenant_id, agent_id, task_id, chain_depth, tool, action, target_system, target_resource,
    classification_declared, classification_effective, outcome, reasons, obligations, caller, decided_at, cause,
    identity_verified)
select gen_random_uuid(), 'bench', 'bench-agent-' || (g % :agents + 1), 'bench-task', 0, 'crm.contacts.read', 'read', 'crm',
    'contacts/42', 'internal', 'internal', case when g % 3 = 0 then 'DENY' else 'ALLOW' end, array['low_risk_read'],
    array[]::text[], 'bench-caller', now() - (g % 50) * interval '1 second', 'policy', true
from generate_series(1, 100000) g;
SQL
run fresh_100k
log "== 3. the reference: ANALYZE decision_record"
bench_psql -c "analyze decision_record"
run analysed
python3 - "$WORK/steps" "$RESULTS/fresh-$STAMP.json" "$STAMP" "$JAR" "$CONCURRENCY" "$DURATION" "$REPO_ROOT" <<'PY'
import glob, json, os, subprocess, sys
steps, out, stamp, jar, conc, dur, repo = sys.argv[1:]
load = lambda n: json.load(open(os.path.join(steps, n + ".json")))
runs = {n: load(n) for n in ("fresh_empty", "fresh_100k", "analysed")}
ref = runs["analysed"].get("throughput_rps") or 0
doc = {"timestamp_utc": stamp, "jar": jar, "git_commit": subprocess.run(["git", "-C", repo, "rev-parse", "--short", "HEAD"],
       capture_output=True, text=True).stdout.strip(), "concurrency": int(conc), "duration_s": int(dur),
       "durability": load("durability"),
       "statements": {os.path.basename(p)[11:-5]: json.load(open(p)) for p in sorted(glob.glob(os.path.join(steps, "statements_*.json")))},
       "statistics": {os.path.basename(p)[6:-5]: json.load(open(p)) for p in sorted(glob.glob(os.path.join(steps, "stats_*.json")))},
       "runs": {n: {k: r.get(k) for k in ("throughput_rps", "latency_ms", "errors", "requests", "cpu", "loadavg_before")}
                for n, r in runs.items()},
       "throughput_of_analysed": {n: round((r.get("throughput_rps") or 0) / ref, 2) if ref else None for n, r in runs.items()}}
json.dump(doc, open(out, "w"), indent=1)
def seq_rows(n):
    a, b = doc["statistics"].get(n + "_before", {}), doc["statistics"].get(n + "_after", {})
    try:
        return b["scans"]["decision_record"]["seq_tup_read"] - a["scans"]["decision_record"]["seq_tup_read"]
    except (KeyError, TypeError):
        return None
doc["decision_record_rows_read_by_seq_scans"] = {n: seq_rows(n) for n in runs}
json.dump(doc, open(out, "w"), indent=1)
# The database's CPU per decision is what the plans decide; the PDP's falls as its JVM warms up (cold in fresh_empty).
def cpu(r, component):
    return ((r.get("cpu") or {}).get("components") or {}).get(component, {}).get("cpu_ms_per_request")
print("| run | decisions/s | p50 ms | p99 ms | of analysed | PostgreSQL CPU ms/decision | PDP CPU ms/decision "
      "| decision_record analysed? | its rows read by seq scans |")
print("|---|---:|---:|---:|---:|---:|---:|---|---:|")
for n, r in runs.items():
    st = doc["statistics"].get(n + "_after", {})
    l = r.get("latency_ms") or {}
    print(f"| {n} | {r.get('throughput_rps')} | {l.get('p50')} | {l.get('p99')} | {doc['throughput_of_analysed'][n]} | "
          f"{cpu(r, 'postgres')} | {cpu(r, 'pdp')} | "
          f"{'yes' if st.get('last_analyze') or st.get('last_autoanalyze') else 'never'} ({st.get('live_rows')} rows) | {seq_rows(n)} |")
PY
log "report: $RESULTS/fresh-$STAMP.json"

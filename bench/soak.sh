#!/usr/bin/env bash
# Soak (issue 18, item 5): SOAK_MINUTES (default 30) at half the PDP's peak for the same mixed load, then checks.
# See bench/README.md (Soak). Usage: bench/soak.sh   (make soak)
#
# Mixed load per 10 requests: 6 DENY, 2 ALLOW with a mint, 2 ALLOW reusing a held credential (LoadGen, open
# model, one run per minute); beside it every SOAK_APPROVAL_INTERVAL seconds a STEP_UP, its approval voted
# through the API, and the approved retry (ALLOW with a mint). After each minute: a full GC (jcmd GC.run), then
# heap used, Hikari connections and live threads from the management port, and the minute's p50/p99/p99.9.
# Report: bench/results/soak-<UTC>.json (exit 1 when a check fails).
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd "$BENCH_DIR/.." && pwd -P)"
BENCH_NAME=soak
WORK="$(mktemp -d /tmp/agent-pdp-soak.XXXXXX)"
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

MINUTES="${SOAK_MINUTES:-30}"
JAR="${BENCH_JAR:-$REPO_ROOT/target/agent-pdp.jar}"
FRACTION="${SOAK_RATE_FRACTION:-0.5}"       # of the mixed load's closed-loop peak
RATE="${SOAK_RATE:-}"                        # fixed rate instead (req/s)
APPROVAL_INTERVAL="${SOAK_APPROVAL_INTERVAL:-2}"
REUSE_AGENTS="${SOAK_REUSE_AGENTS:-200}"    # credentials re-minted every 4 minutes for the reuse share
RESULTS="${BENCH_RESULTS_DIR:-$BENCH_DIR/results}"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$RESULTS" "$WORK/samples"
bench_jar "$JAR"

bench_exit_traps

bench_stack
APPROVER_JWT="$(python3 "$BENCH_DIR/util.py" jwt "$WORK/jwt-key.pem" bench-approver bench agent-pdp approver 7200)"
ADMIN_JWT="$(python3 "$BENCH_DIR/util.py" jwt "$WORK/jwt-key.pem" bench-admin bench agent-pdp security-admin 7200)"
start_pdp 1 "$JAR"
seed_bench
ACTIVE_PDPS="$(pdp_pid 1)"
PID="$(pdp_pid 1)"
head -n "$REUSE_AGENTS" "$WORK/bodies/pdp-allow.jsonl" >"$WORK/bodies/reuse-src.jsonl"
answered=0
remint() {
  local k
  k="$(python3 "$BENCH_DIR/util.py" reuse-bodies "$(pdp_url 1)" "$JWT" "$WORK/bodies/reuse-src.jsonl" "$WORK/bodies/reuse.jsonl")" \
    || die "minting the credentials to reuse failed"
  answered=$((answered + k))
  python3 "$BENCH_DIR/util.py" soak-mix "$WORK/bodies" "$WORK/bodies/reuse.jsonl" "$WORK/bodies/mix.jsonl"
}
records() { bench_psql -At -c "select count(*) from decision_record where tenant_id = 'bench'"; }
OK='"outcome":"'

remint
warm_up 1 "PDP #1" "$WORK/warmup.json"
log "mixed warm-up 15 s, then the mixed peak (15 s)"
timeout 300 "$JAVA" -Xmx1g "$BENCH_DIR/LoadGen.java" --name warmup --url "$(pdp_url 1)" --header "$AUTH_PDP" \
  --bodies "$WORK/bodies/mix.jsonl" --mode closed --concurrency 16 --warmup 0 --duration 15 >/dev/null 2>&1 || true
measure peak_mix "$WORK/peak.json" --url "$(pdp_url 1)" --header "$AUTH_PDP" --bodies "$WORK/bodies/mix.jsonl" \
  --contains "$OK" --mode closed --concurrency 32 --warmup 3 --duration 15
if [[ -z "$RATE" ]]; then
  RATE="$(python3 -c 'import json,sys; print(round(float(json.load(open(sys.argv[1]))["throughput_rps"]) * float(sys.argv[2]), 1))' "$WORK/peak.json" "$FRACTION")"
fi
log "soak: $MINUTES minutes at $RATE req/s (mixed) + a STEP_UP/approval/retry every ${APPROVAL_INTERVAL}s"
remint
"$JCMD" "$PID" GC.run >/dev/null
rows_before="$(records)"
soak_started="$(bench_psql -At -c 'select now()')"
answered=0
offset=0
for minute in $(seq "$MINUTES"); do
  if ((minute % 4 == 0)); then remint; fi
  python3 "$BENCH_DIR/util.py" approvals-loop "$(api_base 1)" "$JWT" "$APPROVER_JWT" 58 "$APPROVAL_INTERVAL" "$offset" \
    "$WORK/samples/approvals-$minute.json" &
  approvals_pid=$!
  measure "minute_$minute" "$WORK/samples/load-$minute.json" --url "$(pdp_url 1)" --header "$AUTH_PDP" \
    --bodies "$WORK/bodies/mix.jsonl" --contains "$OK" --by-outcome --mode rate --rate "$RATE" --concurrency 32 --warmup 0 \
    --duration 60
  wait "$approvals_pid" || log "approvals loop of minute $minute failed"
  offset="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("next_offset", 0))' "$WORK/samples/approvals-$minute.json" 2>/dev/null || echo $((offset + 100)))"
  "$JCMD" "$PID" GC.run >/dev/null
  python3 "$BENCH_DIR/util.py" soak-sample "$(mgmt_base 1)" "$minute" "$WORK/samples/load-$minute.json" "$WORK/samples/minute-$minute.json"
done
sleep 1
rows_after="$(records)"
# What the soak's decisions were, from their records: the mix must be there (a soak of refusals proves nothing).
outcomes="$(bench_psql -At -v since="$soak_started" <<'SQL'
select json_object_agg(k, n) from (
  select case when outcome = 'ALLOW' and credential_reused_from is not null then 'ALLOW_reuse'
              when outcome = 'ALLOW' and 'approved_by_human' = any(reasons) then 'ALLOW_approved'
              when outcome = 'ALLOW' then 'ALLOW_mint'
              when 'request_refused' = any(reasons) then 'DENY_refused'
              -- A DENY because OPA, Vault or the approval store failed: a valid answer, but not the mix's.
              when cause = 'dependency_failure' then 'DENY_dependency_failure: ' || array_to_string(reasons, ',')
              else outcome end as k, count(*) as n
  from decision_record where tenant_id = 'bench' and decided_at >= :'since'::timestamptz group by 1) x
SQL
)"
# Every answered decision of the measured minutes: the load generator's 200s (with the expected body) and the
# approval loop's, plus the re-mints.
answered="$(python3 - "$WORK/samples" "$answered" <<'PY'
import glob, json, sys
n = int(sys.argv[2])
for p in glob.glob(sys.argv[1] + "/load-*.json"):
    n += json.load(open(p)).get("requests_total") or 0
for p in glob.glob(sys.argv[1] + "/approvals-*.json"):
    n += json.load(open(p)).get("decisions_answered") or 0
print(n)
PY
)"
approvals="$(python3 -c 'import glob, json, sys
from collections import Counter
c = Counter()
for p in glob.glob(sys.argv[1] + "/approvals-*.json"):
    c.update({k: v for k, v in json.load(open(p)).items() if k != "next_offset"})
print(json.dumps(c))' "$WORK/samples")"
verify="$(curl -sS --max-time 120 -H "Authorization: Bearer $ADMIN_JWT" "$(api_base 1)/v1/audit/verify" || echo null)"
PDP_JAVA_OPTS="$PDP_JAVA_OPTS" python3 - "$WORK/extra.json" "$STAMP" "$JAR" "$RATE" "$MINUTES" "$rows_before" "$rows_after" "$answered" \
  "$approvals" "$verify" "$(bench_pg_settings)" "$REPO_ROOT" "$outcomes" <<'PY'
import json, os, platform, subprocess, sys
out, stamp, jar, rate, minutes, before, after, answered, approvals, verify, pg, repo, outcomes = sys.argv[1:]
def j(s):
    try: return json.loads(s)
    except Exception: return s
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
json.dump({"timestamp_utc": stamp, "jar": jar, "rate_rps": float(rate), "minutes_planned": int(minutes),
           "git_commit": subprocess.run(["git", "-C", repo, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip(),
           "machine": {"nproc": os.cpu_count(), "cpu_model": cpu, "kernel": platform.release()},
           "postgres_settings": j(pg), "mix": "per 10 requests 6 DENY, 2 ALLOW (mint), 2 ALLOW (reuse); plus STEP_UP + approval + approved retry",
           "records_before": int(before), "records_after": int(after), "records_added": int(after) - int(before),
           "decisions_answered": int(answered), "approvals": j(approvals), "verify": j(verify),
           "recorded_outcomes": j(outcomes), "agents_present_svids": bool(os.environ.get("BENCH_SVID_KEY")),
           "pdp_java_opts": os.environ.get("PDP_JAVA_OPTS")},
          open(out, "w"))
PY
python3 "$BENCH_DIR/util.py" soak-report "$WORK/samples" "$WORK/extra.json" "$RESULTS/soak-$STAMP.json" \
  && log "report: $RESULTS/soak-$STAMP.json" || { log "report: $RESULTS/soak-$STAMP.json (checks failed)"; exit 1; }

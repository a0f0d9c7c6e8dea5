#!/usr/bin/env bash
# The PDP's own CPU per decision and its added latency over raw OPA (issue 18, items 3 and 4). See bench/README.md.
#
#   bench/cpu.sh [LABEL=JAR ...]     default: current=target/agent-pdp.jar
#
# Several jars (e.g. before=/tmp/old.jar after=target/agent-pdp.jar) are measured in turn on ONE stack, in
# BENCH_CPU_ROUNDS rounds (A B A B ...), so a before/after comparison shares the machine's conditions.
# Per jar and round: JIT warm-up, then closed-loop DENY and ALLOW (mint) at a fixed concurrency with the CPU
# time of every process (/proc/<pid>/stat), a JFR profile of each path (separate window: JFR costs CPU too),
# and the latency runs: PDP DENY and raw OPA at half the PDP's DENY peak (open model), once with the load
# generator free and once pinned to one core (taskset). Report: bench/results/cpu-<UTC>.json (+ .jfr files).
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd "$BENCH_DIR/.." && pwd -P)"
BENCH_NAME=cpu
WORK="$(mktemp -d /tmp/agent-pdp-cpu.XXXXXX)"
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

WARMUP="${BENCH_CPU_WARMUP:-45}"            # s, least JIT warm-up per PDP start (DENY and ALLOW), see warm_up
WARMUP_MAX="${BENCH_CPU_WARMUP_MAX:-300}"   # s, longest warm-up
DURATION="${BENCH_CPU_DURATION:-20}"        # s, each CPU measurement
CONCURRENCY="${BENCH_CPU_CONCURRENCY:-8}"   # closed-loop in-flight requests of the CPU measurements
ROUNDS="${BENCH_CPU_ROUNDS:-1}"
PROFILE="${BENCH_CPU_JFR:-1}"               # 1: JFR profile (settings=profile) of DENY and ALLOW
LATENCY="${BENCH_CPU_LATENCY:-1}"           # 1: latency runs at half the DENY peak
RATE_DURATION="${BENCH_RATE_DURATION:-20}"
PIN_CPU="${BENCH_PIN_CPU:-0}"               # the core the pinned load generator runs on
RESULTS="${BENCH_RESULTS_DIR:-$BENCH_DIR/results}"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="$RESULTS/cpu-$STAMP"
mkdir -p "$RESULTS" "$OUT"

JARS=("$@")
((${#JARS[@]})) || JARS=("current=$REPO_ROOT/target/agent-pdp.jar")
for j in "${JARS[@]}"; do [[ "$j" == *=* && -f "${j#*=}" ]] || die "not LABEL=JAR with an existing jar: $j"; done

cleanup() { local rc=$?; trap - EXIT; bench_cleanup; rm -rf -- "$WORK"; log "stopped everything (exit $rc)"; exit "$rc"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# warm_up N LABEL: closed-loop DENY (10 s) and ALLOW (5 s) pieces until the JIT has settled: at least WARMUP
# seconds, then until a piece adds fewer than 10 compilations (jstat -compiler), at most WARMUP_MAX seconds.
# On a busy machine a fixed time is not enough: the compiler threads would still run (and count as PDP CPU).
warm_up() {
  local n="$1" pid prev=-1 cur started=$SECONDS path
  pid="$(pdp_pid "$n")"
  while ((SECONDS - started < WARMUP_MAX)); do
    for path in deny:10 allow:5; do
      timeout 120 "$JAVA" -Xmx1g "$BENCH_DIR/LoadGen.java" --name warmup --url "$(pdp_url "$n")" --header "$AUTH_PDP" \
        --bodies "$WORK/bodies/pdp-${path%%:*}.jsonl" --mode closed --concurrency 16 --warmup 0 \
        --duration "${path##*:}" >/dev/null 2>&1 || true
    done
    cur="$("$JAVA_HOME/bin/jstat" -compiler "$pid" | awk 'NR == 2 { print $1 }')"
    if ((prev >= 0 && cur - prev < 10 && SECONDS - started >= WARMUP)); then break; fi
    prev="$cur"
  done
  log "[$2] warm-up: $((SECONDS - started))s, $cur JIT compilations"
  printf '{"seconds": %d, "jit_compilations": %d, "last_piece_compilations": %d}\n' "$((SECONDS - started))" "$cur" \
    "$((cur - prev))" >"$3"
}

bench_stack
DENY_OK='"reasons":["chain_depth_exceeded"]'
ALLOW_OK='"credential":{"type":"wrapped_token"'
seeded=0
n=0
for round in $(seq "$ROUNDS"); do
  for j in "${JARS[@]}"; do
    label="${j%%=*}" jar="${j#*=}" n=$((n + 1))
    dir="$OUT/$label-r$round"; mkdir -p "$dir"
    start_pdp "$n" "$jar" -XX:FlightRecorderOptions=stackdepth=256
    ((seeded)) || { seed_bench; seeded=1; }
    ACTIVE_PDPS="$(pdp_pid "$n")"
    warm_up "$n" "$label round $round" "$dir/warmup.json"
    common=(--url "$(pdp_url "$n")" --header "$AUTH_PDP" --mode closed --concurrency "$CONCURRENCY" --warmup 2 --duration "$DURATION")
    loadgen cpu_deny "$dir/cpu_deny.json" "${common[@]}" --bodies "$WORK/bodies/pdp-deny.jsonl" --contains "$DENY_OK"
    loadgen cpu_allow "$dir/cpu_allow.json" "${common[@]}" --bodies "$WORK/bodies/pdp-allow.jsonl" --contains "$ALLOW_OK"
    if [[ "$PROFILE" == 1 ]]; then
      for path in deny allow; do
        ok="$DENY_OK"; [[ "$path" == allow ]] && ok="$ALLOW_OK"
        "$JCMD" "$(pdp_pid "$n")" JFR.start name=cpu settings=profile filename="$dir/$path.jfr" >/dev/null 2>&1 || log "JFR.start failed"
        loadgen "jfr_$path" "$dir/jfr_$path.json" "${common[@]}" --bodies "$WORK/bodies/pdp-$path.jsonl" --contains "$ok"
        "$JCMD" "$(pdp_pid "$n")" JFR.stop name=cpu >/dev/null 2>&1 || true
        python3 "$BENCH_DIR/util.py" jfr-top "$dir/$path.jfr" "$JFR" 40 >"$dir/jfr_${path}_top.json" 2>/dev/null || true
      done
    fi
    if [[ "$LATENCY" == 1 ]]; then
      loadgen peak_deny "$dir/peak_deny.json" --url "$(pdp_url "$n")" --header "$AUTH_PDP" --mode closed --concurrency 32 \
        --warmup 3 --duration 12 --bodies "$WORK/bodies/pdp-deny.jsonl" --contains "$DENY_OK"
      rate="$(python3 -c 'import json,sys; print(round(float(json.load(open(sys.argv[1])).get("throughput_rps") or 0) / 2, 1))' "$dir/peak_deny.json")"
      if [[ "$rate" != 0.0 ]]; then
        rate_args=(--mode rate --rate "$rate" --concurrency 32 --warmup 5 --duration "$RATE_DURATION")
        for pin in "" "$PIN_CPU"; do
          sfx=""; [[ -n "$pin" ]] && sfx="_pinned"
          BENCH_LOADGEN_CPUS="$pin" loadgen "rate_pdp_deny$sfx" "$dir/rate_pdp_deny$sfx.json" --url "$(pdp_url "$n")" \
            --header "$AUTH_PDP" --bodies "$WORK/bodies/pdp-deny.jsonl" --contains "$DENY_OK" "${rate_args[@]}"
          BENCH_LOADGEN_CPUS="$pin" loadgen "rate_opa_deny$sfx" "$dir/rate_opa_deny$sfx.json" --url "$OPA_DECISION_URL" \
            --bodies "$WORK/bodies/opa-deny.jsonl" --contains "$DENY_OK" "${rate_args[@]}"
        done
      fi
    fi
    stop_pdp "$n"
    ACTIVE_PDPS=""
  done
done

python3 - "$OUT" "$RESULTS/cpu-$STAMP.json" "$STAMP" "$REPO_ROOT" "$(bench_pg_settings)" \
  "$CONCURRENCY" "$DURATION" "$WARMUP" "${JARS[@]}" <<'PY'
import glob, json, os, platform, subprocess, sys
out_dir, out, stamp, repo, pg, conc, dur, warm = sys.argv[1:9]
jars = sys.argv[9:]
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
    row = {"warmup": r.get("warmup"), "pdp_cpu_ms_per_deny": pdp_ms(r.get("cpu_deny")), "pdp_cpu_ms_per_allow_mint": pdp_ms(r.get("cpu_allow")),
           "deny_rps": (r.get("cpu_deny") or {}).get("throughput_rps"),
           "allow_rps": (r.get("cpu_allow") or {}).get("throughput_rps"),
           "loadavg_before_cpu_deny": (r.get("cpu_deny") or {}).get("loadavg_before"),
           "other_processes_cores_deny": ((r.get("cpu_deny") or {}).get("cpu") or {}).get("other_processes_cores"),
           "other_processes_cores_allow": ((r.get("cpu_allow") or {}).get("cpu") or {}).get("other_processes_cores"),
           "deny_peak_rps_c32": (r.get("peak_deny") or {}).get("throughput_rps")}
    for sfx in ("", "_pinned"):
        p, o = r.get("rate_pdp_deny" + sfx), r.get("rate_opa_deny" + sfx)
        if p and o and "latency_ms" in p and "latency_ms" in o:
            row["latency" + sfx] = {
                "rate_rps": p.get("target_rps"), "loadavg_before": p.get("loadavg_before"),
                "loadgen_cpus": p.get("loadgen_cpus"),
                "pdp_p50_p99_p999_ms": [lat(p, "p50"), lat(p, "p99"), lat(p, "p999")],
                "opa_p50_p99_p999_ms": [lat(o, "p50"), lat(o, "p99"), lat(o, "p999")],
                "added_p50_ms": round(lat(p, "p50") - lat(o, "p50"), 3),
                "added_p99_ms": round(lat(p, "p99") - lat(o, "p99"), 3),
                "other_processes_cores": (p.get("cpu") or {}).get("other_processes_cores")}
    summary[name] = row
def git(*a):
    return subprocess.run(["git", "-C", repo, *a], capture_output=True, text=True).stdout.strip()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
doc = {"timestamp_utc": stamp, "git_commit": git("rev-parse", "--short", "HEAD"), "jars": jars,
       "machine": {"nproc": os.cpu_count(), "cpu_model": cpu, "kernel": platform.release(),
                   "loadavg_end": open("/proc/loadavg").read().split()[:3]},
       "postgres_settings": json.loads(pg) if pg and pg != "null" else None,
       "config": {"concurrency": int(conc), "duration_s": int(dur), "warmup_s": int(warm)},
       "summary": summary, "runs": runs}
json.dump(doc, open(out, "w"), indent=1)
print("| run | PDP CPU ms/DENY | PDP CPU ms/ALLOW+mint | DENY /s (c=%s) | ALLOW /s | load avg | other cores | added p50 / p99 ms (free) | added p50 / p99 ms (pinned) |" % conc, file=sys.stderr)
print("|---|---:|---:|---:|---:|---|---:|---:|---:|", file=sys.stderr)
for name, s in summary.items():
    f = lambda k: "%s / %s" % (s[k]["added_p50_ms"], s[k]["added_p99_ms"]) if s.get(k) else "-"
    print(f"| {name} | {s['pdp_cpu_ms_per_deny']} | {s['pdp_cpu_ms_per_allow_mint']} | {s['deny_rps']} | {s['allow_rps']} | "
          f"{s['loadavg_before_cpu_deny']} | {s['other_processes_cores_deny']} | {f('latency')} | {f('latency_pinned')} |", file=sys.stderr)
PY
log "report: $RESULTS/cpu-$STAMP.json (profiles in $OUT)"

#!/usr/bin/env bash
# The PDP's own CPU per decision and its added latency over raw OPA (issue 18, items 3 and 4). See bench/README.md.
#
#   bench/cpu.sh ['LABEL=JAR [JAVA OPTIONS]' ...]     default: current=target/agent-pdp.jar
#
# Several jars (e.g. before=/tmp/old.jar after=target/agent-pdp.jar) are measured in turn on ONE stack, in
# BENCH_CPU_ROUNDS rounds (A B A B ...), so a before/after comparison shares the machine's conditions.
# Per jar and round: JIT warm-up, then closed-loop DENY and ALLOW (mint) at a fixed concurrency with the CPU
# time of every process (/proc/<pid>/stat), a JFR profile of each path (separate window: JFR costs CPU too),
# and the latency runs: PDP DENY and raw OPA at half the PDP's DENY peak (open model), once with the load
# generator free and once pinned to one core (taskset), each with both load generator clients
# (BENCH_LOADGEN_CLIENTS), each PDP run with the means of the PDP's own timers (context read, OPA call, record);
# then PDP and raw OPA with one request in flight (the added latency with no queueing for a core).
# Report: bench/results/cpu-<UTC>.json (+ .jfr files).
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd "$BENCH_DIR/.." && pwd -P)"
BENCH_NAME=cpu
WORK="$(mktemp -d /tmp/agent-pdp-cpu.XXXXXX)"
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

DURATION="${BENCH_CPU_DURATION:-20}"        # s, each CPU measurement
CONCURRENCY="${BENCH_CPU_CONCURRENCY:-8}"   # closed-loop in-flight requests of the CPU measurements
ROUNDS="${BENCH_CPU_ROUNDS:-1}"
PROFILE="${BENCH_CPU_JFR:-1}"               # 1: JFR profile (settings=profile) of DENY and ALLOW
LATENCY="${BENCH_CPU_LATENCY:-1}"           # 1: latency runs at half the DENY peak
RATE_DURATION="${BENCH_RATE_DURATION:-20}"
FLOOR_DURATION="${BENCH_FLOOR_DURATION:-15}" # s, the one-in-flight runs (PDP and raw OPA)
PIN_CPU="${BENCH_PIN_CPU:-0}"               # the core the pinned load generator runs on
# The latency runs' load generator clients, each run side by side (LoadGen --client): jdk (java.net.http, the
# figures of sessions 1-15) and socket (plain blocking sockets, about half its CPU per request).
CLIENTS="${BENCH_LOADGEN_CLIENTS:-jdk socket}"
RESULTS="${BENCH_RESULTS_DIR:-$BENCH_DIR/results}"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="$RESULTS/cpu-$STAMP"
mkdir -p "$RESULTS" "$OUT"

JARS=("$@")
((${#JARS[@]})) || JARS=("current=$REPO_ROOT/target/agent-pdp.jar")
jar_of() { local rest="${1#*=}"; printf '%s' "${rest%% *}"; }          # LABEL=JAR [JAVA OPTIONS...]
opts_of() { local rest="${1#*=}"; [[ "$rest" == *" "* ]] && printf '%s' "${rest#* }"; return 0; }
for j in "${JARS[@]}"; do [[ "$j" == *=* && -f "$(jar_of "$j")" ]] || die "not LABEL=JAR [OPTIONS] with an existing jar: $j"; done

bench_exit_traps

# profile PATH EXPECTED: the same closed loop again with a JFR recording (settings=profile; JFR costs CPU too).
profile() {
  "$JCMD" "$(pdp_pid "$n")" JFR.start name=cpu settings=profile filename="$dir/$1.jfr" >/dev/null 2>&1 || log "JFR.start failed"
  measure "jfr_$1" "$dir/jfr_$1.json" "${common[@]}" --bodies "$WORK/bodies/pdp-$1.jsonl" --contains "$2"
  "$JCMD" "$(pdp_pid "$n")" JFR.stop name=cpu >/dev/null 2>&1 || true
  python3 "$BENCH_DIR/util.py" jfr-top "$dir/$1.jfr" "$JFR" 40 >"$dir/jfr_$1_top.json" 2>/dev/null || true
}
# wait_quiet OUT.json REVOKED: until OpenBao used under 0.05 cores in two 5 s windows in a row, at most
# BENCH_QUIET_MAX (300) s; OUT.json says how long that took, whether it got there, and REVOKED (revoke_minted's
# answer).
wait_quiet() {
  local pid t0 t1 waited=0 quiet=0
  pid="$(cat "$STATE/bao.pid")"
  while ((waited < ${BENCH_QUIET_MAX:-300})); do
    t0="$(awk '{print $14 + $15}' "/proc/$pid/stat")"; sleep 5; waited=$((waited + 5))
    t1="$(awk '{print $14 + $15}' "/proc/$pid/stat")"
    if (((t1 - t0) * 100 / $(getconf CLK_TCK) < 25)); then quiet=$((quiet + 1)); else quiet=0; fi
    ((quiet >= 2)) && break
  done
  log "OpenBao quiet after ${waited}s ($((quiet >= 2)))"
  printf '{"revoked_warm_up_tokens": "%s", "quiet_after_s": %d, "quiet": %s}\n' "$2" "$waited" \
    "$( ((quiet >= 2)) && echo true || echo false)" >"$1"
}
# revoke_minted: every token the warm-up's ALLOW pieces minted would expire over the next 300 s (the bench
# profiles' TTL; their wrapping tokens over 60 s), and OpenBao's expiry work on raft storage (14 s of its CPU for
# the tokens of a 54 s warm-up) ran at 0.06-0.16 cores through the latency runs of sessions 13-15, the PDP's and
# raw OPA's alike. They are revoked now (sync=false queues them; the queueing alone takes tens of seconds), and
# wait_quiet waits for that to end. The tokens are the bench's own; no measured path uses them again. Prints the
# HTTP status, or "failed".
revoke_minted() {
  local status
  status="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 180 -X PUT -H @"$WORK/bao-header" \
    "$PDP_VAULT_URL/v1/sys/leases/revoke-prefix/auth/token/create/agent-pdp.bench?sync=false")" || status=failed
  log "revoking the warm-up's tokens in OpenBao (HTTP $status)"
  printf '%s' "$status"
}

# timed N STEP.json COMMAND...: COMMAND (a measure of PDP N writing STEP.json), then the means of the PDP's own
# timers over it added to STEP.json (util.py timers-merge: context read, OPA call, the record's write, the rest).
timed() {
  local n="$1" step="$2"; shift 2
  python3 "$BENCH_DIR/util.py" timers-snap "$(mgmt_base "$n")" "$WORK/timers-before.json" || true
  "$@"
  python3 "$BENCH_DIR/util.py" timers-snap "$(mgmt_base "$n")" "$WORK/timers-after.json" \
    && python3 "$BENCH_DIR/util.py" timers-merge "$step" "$WORK/timers-before.json" "$WORK/timers-after.json" || true
}

bench_stack
printf 'X-Vault-Token: %s\n' "$(cat "$STATE/bao-root-token")" >"$WORK/bao-header"   # a file: not on a command line
seeded=0
n=0
for round in $(seq "$ROUNDS"); do
  for j in "${JARS[@]}"; do
    label="${j%%=*}" jar="$(jar_of "$j")" n=$((n + 1))
    dir="$OUT/$label-r$round"; mkdir -p "$dir"
    # shellcheck disable=SC2046
    start_pdp "$n" "$jar" -XX:FlightRecorderOptions=stackdepth=256 $(opts_of "$j")
    ((seeded)) || { seed_bench "$n"; seeded=1; }
    ACTIVE_PDPS="$(pdp_pid "$n")"
    warm_up "$n" "$label round $round" "$dir/warmup.json"
    common=(--url "$(pdp_url "$n")" --header "$AUTH_PDP" --mode closed --concurrency "$CONCURRENCY" --warmup 2 --duration "$DURATION")
    # DENY first, on a quiet OpenBao (revoke_minted); the ALLOW runs come last (the next revoke_minted takes
    # their tokens too).
    wait_quiet "$dir/openbao_quiet.json" "$(revoke_minted)"
    measure cpu_deny "$dir/cpu_deny.json" "${common[@]}" --bodies "$WORK/bodies/pdp-deny.jsonl" --contains "$DENY_OK"
    [[ "$PROFILE" == 1 ]] && profile deny "$DENY_OK"
    if [[ "$LATENCY" == 1 ]]; then
      for c in 8 32; do
        measure "peak_deny_c$c" "$dir/peak_deny_c$c.json" --url "$(pdp_url "$n")" --header "$AUTH_PDP" --mode closed \
          --concurrency "$c" --warmup 3 --duration 12 --bodies "$WORK/bodies/pdp-deny.jsonl" --contains "$DENY_OK"
      done
      # The peak is the better level (at 32 in flight OPA may miss its deadline on two cores).
      rate="$(python3 -c 'import json,sys; print(round(max(float(json.load(open(p)).get("throughput_rps") or 0) for p in sys.argv[1:]) / 2, 1))' \
        "$dir/peak_deny_c8.json" "$dir/peak_deny_c32.json")"
      if [[ "$rate" != 0.0 ]]; then
        rate_args=(--mode rate --rate "$rate" --concurrency 32 --warmup 5 --duration "$RATE_DURATION")
        for pin in "" "$PIN_CPU"; do
          for client in $CLIENTS; do
            sfx=""; [[ "$client" == socket ]] && sfx="_socket"; [[ -n "$pin" ]] && sfx="${sfx}_pinned"
            BENCH_LOADGEN_CPUS="$pin" timed "$n" "$dir/rate_pdp_deny$sfx.json" measure "rate_pdp_deny$sfx" \
              "$dir/rate_pdp_deny$sfx.json" --url "$(pdp_url "$n")" --header "$AUTH_PDP" --bodies "$WORK/bodies/pdp-deny.jsonl" \
              --contains "$DENY_OK" --client "$client" "${rate_args[@]}"
            BENCH_LOADGEN_CPUS="$pin" measure "rate_opa_deny$sfx" "$dir/rate_opa_deny$sfx.json" --url "$OPA_DECISION_URL" \
              --bodies "$WORK/bodies/opa-deny.jsonl" --contains "$DENY_OK" --client "$client" "${rate_args[@]}"
          done
        done
      fi
      # One request at a time (socket client, free): the added latency with no queueing for a core.
      timed "$n" "$dir/floor_pdp_deny.json" measure floor_pdp_deny "$dir/floor_pdp_deny.json" --url "$(pdp_url "$n")" \
        --header "$AUTH_PDP" --bodies "$WORK/bodies/pdp-deny.jsonl" --contains "$DENY_OK" --client socket \
        --mode closed --concurrency 1 --warmup 2 --duration "$FLOOR_DURATION"
      measure floor_opa_deny "$dir/floor_opa_deny.json" --url "$OPA_DECISION_URL" --bodies "$WORK/bodies/opa-deny.jsonl" \
        --contains "$DENY_OK" --client socket --mode closed --concurrency 1 --warmup 2 --duration "$FLOOR_DURATION"
    fi
    measure cpu_allow "$dir/cpu_allow.json" "${common[@]}" --bodies "$WORK/bodies/pdp-allow.jsonl" --contains "$ALLOW_OK"
    [[ "$PROFILE" == 1 ]] && profile allow "$ALLOW_OK"
    stop_pdp "$n"
    ACTIVE_PDPS=""
  done
done

PDP_JAVA_OPTS="$PDP_JAVA_OPTS" python3 "$BENCH_DIR/util.py" cpu-report "$OUT" "$RESULTS/cpu-$STAMP.json" "$STAMP" "$REPO_ROOT" "$(bench_pg_settings)" \
  "$CONCURRENCY" "$DURATION" "$WARMUP" "${JARS[@]}"
log "report: $RESULTS/cpu-$STAMP.json (profiles in $OUT)"

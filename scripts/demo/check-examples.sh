#!/usr/bin/env bash
# Regression test of `make run` (scripts/demo/run.sh), run by `make test`:
#   - demoListensOnLoopbackOnly: the PDP (API and management port), OPA, OpenBao, PostgreSQL, the MCP
#     guard and its demo tool server have no listening socket on anything but 127.0.0.1;
#   - demoExamplesWorkWhenPastedVerbatim: every command line run.sh prints (also written to
#     RUN_DIR/examples.sh) is executed verbatim with bash, in order; every curl in it must answer
#     HTTP 200, a decision the outcome its comment announces ("-> ALLOW"), an unwrap a client token.
#   - the MCP guard demo: the printed MCP client command runs; a read runs, a delete waits for approval.
# Starts its own demo (run.sh --detach) in RUN_DIR on free ports and always stops it again.
#
# Usage: scripts/demo/check-examples.sh [RUN_DIR]     (default <repo>/.run-state/demo-check)
# Needs target/agent-pdp.jar and JAVA_HOME (JDK 25), like run.sh.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
RUN_DIR="${1:-$REPO_ROOT/.run-state/demo-check}"
mkdir -p "$RUN_DIR"
RUN_DIR="$(cd "$RUN_DIR" && pwd)"
OUT="$RUN_DIR/examples-check"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http_port="$(free_port)"
mgmt_port="$(free_port)"
while [[ "$mgmt_port" == "$http_port" ]]; do mgmt_port="$(free_port)"; done

failed=0
passed=0
ok() { passed=$((passed + 1)); echo "  ok   $*"; }
bad() { failed=$((failed + 1)); echo "  FAIL $*" >&2; }

stop_demo() { PDP_RUN_DIR="$RUN_DIR" "$SCRIPT_DIR/stop.sh" >/dev/null 2>&1 || true; }
trap stop_demo EXIT

echo "check-examples: starting the demo in $RUN_DIR (API :$http_port, management :$mgmt_port)"
PDP_RUN_DIR="$RUN_DIR" PDP_HTTP_PORT="$http_port" PDP_MANAGEMENT_PORT="$mgmt_port" \
  "$SCRIPT_DIR/run.sh" --detach >"$RUN_DIR/run.out" 2>"$RUN_DIR/run.err" \
  || { cat "$RUN_DIR/run.err" >&2; echo "check-examples: run.sh failed" >&2; exit 1; }

# --- demoListensOnLoopbackOnly ------------------------------------------------------------------
pids=()
for f in "$RUN_DIR/pdp.pid" "$RUN_DIR/stack/opa.pid" "$RUN_DIR/stack/bao.pid" "$RUN_DIR/stack/postgres.pid" \
         "$RUN_DIR/stack/spire-server.pid" "$RUN_DIR/stack/spire-agent.pid" \
         "$RUN_DIR/guard.pid" "$RUN_DIR/demo-tools.pid"; do
  pids+=("$(cat "$f")")
done
if listeners="$(python3 - "${pids[@]}" <<'PY'
import ipaddress, os, sys

def listening(pid):
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table, width in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        with open(table) as fh:
            next(fh)
            for line in fh:
                cols = line.split()
                local, state, inode = cols[1], cols[3], cols[9]
                if state != "0A" or inode not in inodes:
                    continue
                hexaddr, port = local.split(":")
                raw = bytes.fromhex(hexaddr)
                # /proc/net shows each 32-bit word in host (little-endian) order.
                raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
                addr = ipaddress.ip_address(raw)
                if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
                    addr = addr.ipv4_mapped
                found.append((str(addr), int(port, 16)))
    return found

bad = 0
for pid in sys.argv[1:]:
    for addr, port in listening(pid):
        print(f"{pid} {addr}:{port}")
        if addr != "127.0.0.1":
            bad += 1
sys.exit(1 if bad else 0)
PY
)"; then
  ok "demoListensOnLoopbackOnly: $(echo "$listeners" | wc -l) listening sockets, all on 127.0.0.1"
  for port in "$http_port" "$mgmt_port"; do
    if grep -q " 127.0.0.1:$port\$" <<<"$listeners"; then ok "the PDP listens on 127.0.0.1:$port"
    else bad "the PDP does not listen on 127.0.0.1:$port:"$'\n'"$listeners"; fi
  done
else
  bad "demoListensOnLoopbackOnly: a listener is not on 127.0.0.1:"$'\n'"$listeners"
fi

# --- demoExamplesWorkWhenPastedVerbatim ---------------------------------------------------------
examples="$RUN_DIR/examples.sh"
[[ -s "$examples" ]] || { bad "run.sh wrote no $examples"; exit 1; }
if grep -qF "$(sed -n '/^curl /{p;q}' "$examples")" "$RUN_DIR/run.out"; then
  ok "run.sh printed the examples of $examples"
else
  bad "run.sh's output does not contain the examples of $examples"
fi
if grep -nE '<[A-Za-z_. ]+>' "$examples" | grep -v '^[0-9]*:#'; then
  bad "an example command still holds a <placeholder>"
fi

# curl is wrapped (not the command text): each call's HTTP status and body go to $OUT/<line>.<n>.
rm -rf "$OUT" && mkdir -p "$OUT"
runner="$OUT/runner.sh"
{
  echo 'curl() {'
  echo '  local n; n=$(( $(cat "$EX_OUT/count") + 1 )); echo "$n" >"$EX_OUT/count"'
  echo '  command curl -w "%{stderr}%{http_code}" "$@" 2>"$EX_OUT/$(cat "$EX_OUT/line").$n.status" | tee "$EX_OUT/$(cat "$EX_OUT/line").$n.body"'
  echo '}'
  echo 'echo 0 >"$EX_OUT/count"'
  lineno=0
  while IFS= read -r line; do
    lineno=$((lineno + 1))
    [[ -z "$line" || "$line" == \#* ]] && continue
    echo "echo $lineno >\"\$EX_OUT/line\""
    printf '%s\n' "$line"   # verbatim
  done <"$examples"
} >"$runner"
EX_OUT="$OUT" bash "$runner" >"$OUT/stdout" 2>"$OUT/stderr" || true

expect=""
lineno=0
commands=0
while IFS= read -r line; do
  lineno=$((lineno + 1))
  if [[ "$line" == \#* ]]; then
    if [[ "$line" =~ -\>\ (ALLOW|DENY|STEP_UP|CONSTRAIN) ]]; then expect="${BASH_REMATCH[1]}"; fi
    continue
  fi
  [[ -z "$line" ]] && continue
  commands=$((commands + 1))
  shown="${line:0:90}..."
  mapfile -t statuses < <(cd "$OUT" && ls -1 "$lineno".*.status 2>/dev/null | sort -t. -k2 -n)
  if ((${#statuses[@]} == 0)); then bad "line $lineno ran no curl: $shown"; continue; fi
  for sf in "${statuses[@]}"; do
    status="$(cat "$OUT/$sf")"
    body="$(cat "$OUT/${sf%.status}.body")"
    if [[ "$status" != 200 ]]; then bad "line $lineno: HTTP $status: $shown"$'\n'"       $body"; continue; fi
    if [[ "$line" == *sys/wrapping/unwrap* && "$sf" == "${statuses[-1]}" ]]; then
      # A wrapped token unwraps to a client token, a wrapped dynamic secret to a database login.
      if python3 -c 'import json,sys; d = json.loads(sys.argv[1]); assert (d.get("auth") or {}).get("client_token") or (d.get("data") or {}).get("username")' "$body" 2>/dev/null; then
        ok "line $lineno: unwrap answers 200 with a client token or a database login"
      else bad "line $lineno: unwrap gave no client token: $shown"; fi
    elif [[ "$line" == *"/v1/decisions -d"* ]]; then
      outcome="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("outcome"))' "$body" 2>/dev/null || true)"
      if [[ -z "$expect" || "$outcome" == "$expect" ]]; then ok "line $lineno: decision answers 200, $outcome"
      else bad "line $lineno: outcome $outcome, the comment says $expect: $shown"; fi
    elif [[ "$line" == *"/v1/decisions/"* ]]; then
      if python3 -c 'import json,sys; assert json.loads(sys.argv[1])["decision_id"]' "$body" 2>/dev/null; then
        ok "line $lineno: the audit record answers 200"
      else bad "line $lineno: no decision record: $body"; fi
    else
      ok "line $lineno: HTTP 200"
    fi
  done
  expect=""
done <"$examples"
((commands >= 6)) || bad "only $commands example commands found in $examples"

# --- the MCP guard demo: the printed client command runs (read runs, delete waits for approval) ---------
guard_cmd="$(sed -n 's/^#   With the mcp SDK.s client: *//p' "$RUN_DIR/run.out" | head -n 1)"
if [[ -z "$guard_cmd" ]]; then
  bad "run.sh printed no MCP client command for the guard"
elif out="$(bash -c "$guard_cmd" 2>&1)" && grep -q '^read_contact *-> ok' <<<"$out" \
    && grep -q '^delete_contact -> error.*[Aa]pproval' <<<"$out"; then
  ok "the MCP guard demo: read_contact ran, delete_contact waits for approval ($guard_cmd)"
else
  bad "the MCP guard demo's client command failed: $guard_cmd"$'\n'"$out"
fi

echo "check-examples: $passed passed, $failed failed"
((failed == 0))

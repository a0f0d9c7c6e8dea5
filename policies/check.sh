#!/usr/bin/env bash
# Lint, type-check and test the agent-pdp Rego policies.
# Fails on: unformatted files, strict-check errors, failing tests, coverage < MIN_COVERAGE.
# Covers policies/agentpdp (the decision) and policies/system (the OPA server's authorization).
# Usage: policies/check.sh        (opa from make deps: .tools/bin/opa; OPA_BIN=... overrides)
# Regal (issue 14 item 8 asks for `regal lint`) is not run: it is not available from the registries this
# project installs from (not on the Go module proxy as an installable module, nor on PyPI or npm), and
# make deps installs tools only from those. `opa check --strict --schema` and the entrypoint METADATA stand in.
set -euo pipefail

MIN_COVERAGE="${MIN_COVERAGE:-90}"
cd "$(dirname "$0")"
# shellcheck source=scripts/stack/lib.sh
source ../scripts/stack/lib.sh

OPA="$(find_opa)"
[ -n "$OPA" ] || { echo "check.sh: opa $STACK_OPA_VERSION not found at ${OPA_BIN:-$TOOLS_BIN/opa}; run: make deps" >&2; exit 1; }

echo "== opa fmt --list"
unformatted="$("$OPA" fmt --list .)"
if [ -n "$unformatted" ]; then
	echo "not formatted (run: opa fmt -w policies):" >&2
	echo "$unformatted" >&2
	exit 1
fi

echo "== opa check --strict --schema schemas (every input reference typed against schemas/input.json)"
"$OPA" check --strict --schema schemas agentpdp system

echo "== opa test"
"$OPA" test .

echo "== opa test --coverage"
coverage_json="$(mktemp)"
trap 'rm -f "$coverage_json"' EXIT
"$OPA" test --coverage --format=json . >"$coverage_json"
python3 - "$MIN_COVERAGE" "$coverage_json" <<'PY'
import json, sys
minimum = float(sys.argv[1])
with open(sys.argv[2]) as fh:
    report = json.load(fh)
coverage = float(report.get("coverage", 0))
for name, f in sorted(report.get("files", {}).items()):
    missed = [r["start"]["row"] for r in f.get("not_covered", [])]
    print(f"  {f.get('coverage', 0):6.2f}%  {name}" + (f"  (uncovered lines: {missed})" if missed else ""))
print(f"total coverage: {coverage:.2f}% (minimum {minimum:.0f}%)")
sys.exit(0 if coverage >= minimum else 1)
PY
echo "OK"

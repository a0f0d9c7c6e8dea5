#!/usr/bin/env bash
# Apply a declarative registry file to the PDP (GitOps): makes the token tenant's registry match FILE,
# idempotently, and prints the diff. Applying the same file again prints "no changes".
#
# Usage: scripts/registry-apply.sh [--dry-run] [--prune] FILE
#   FILE       YAML (or .json) registry file: systems, tools, agents, enforcement_points, classifications
#              (format: openapi.yaml RegistryDocument; example: scripts/demo/registry.yaml)
#   --dry-run  only print what would change
#   --prune    also delete entries of the listed kinds that FILE does not name
# Env: PDP_URL         the PDP's API (default http://127.0.0.1:8080)
#      PDP_TOKEN       a bearer token with scope registry-admin, or
#      PDP_TOKEN_FILE  a file holding one
# Exit status: 0 applied (or nothing to do), 1 refused or failed (the problem is printed), 2 usage.
set -euo pipefail

usage() { echo "usage: $0 [--dry-run] [--prune] FILE" >&2; exit 2; }

DRY_RUN=false
PRUNE=false
FILE=""
while (($#)); do
  case "$1" in
    --dry-run) DRY_RUN=true ;;
    --prune) PRUNE=true ;;
    -h|--help) usage ;;
    -*) usage ;;
    *) [[ -z "$FILE" ]] || usage; FILE="$1" ;;
  esac
  shift
done
[[ -n "$FILE" && -f "$FILE" ]] || usage
for tool in curl python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$0: $tool not found" >&2; exit 1; }
done

URL="${PDP_URL:-http://127.0.0.1:8080}"
TOKEN="${PDP_TOKEN:-}"
if [[ -z "$TOKEN" && -n "${PDP_TOKEN_FILE:-}" ]]; then
  TOKEN="$(cat "$PDP_TOKEN_FILE")"
fi
[[ -n "$TOKEN" ]] || { echo "$0: set PDP_TOKEN or PDP_TOKEN_FILE (scope registry-admin)" >&2; exit 1; }

case "$FILE" in
  *.json) TYPE=application/json ;;
  *) TYPE=application/yaml ;;
esac

ANSWER="$(mktemp)"
trap 'rm -f "$ANSWER"' EXIT
# The token goes to curl on stdin (a header file), never on its command line.
STATUS="$(printf 'Authorization: Bearer %s\n' "$TOKEN" | curl -sS -o "$ANSWER" -w '%{http_code}' -X POST \
  -H @- -H "Content-Type: $TYPE" -H 'Accept: application/json, application/problem+json' \
  --data-binary "@$FILE" "$URL/v1/registry/apply?dry_run=$DRY_RUN&prune=$PRUNE")" || {
  echo "$0: the PDP at $URL could not be reached" >&2; exit 1; }

python3 - "$STATUS" "$ANSWER" "$FILE" <<'PY'
import json, sys

status, path, file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
try:
    with open(path, encoding="utf-8") as f:
        answer = json.load(f)
except ValueError:
    answer = None
if status != 200 or not isinstance(answer, dict):
    detail = answer.get("detail") if isinstance(answer, dict) else None
    title = answer.get("title") if isinstance(answer, dict) else None
    print(f"registry-apply: {file} was not applied: HTTP {status} {title or ''}: {detail or ''}".rstrip(": "), file=sys.stderr)
    sys.exit(1)

sign = {"CREATE": "+", "REPLACE": "~", "DELETE": "-"}
for change in answer["changes"]:
    line = f"{sign[change['action']]} {change['kind']} {change['key']}"
    if change["action"] == "REPLACE":
        before, after = change.get("before") or {}, change.get("after") or {}
        fields = change.get("fields") or []
        line += ": " + ", ".join(fields)
        print(line)
        for field in fields:
            print(f"    {field}: {json.dumps(before.get(field), ensure_ascii=False)} -> {json.dumps(after.get(field), ensure_ascii=False)}")
        continue
    print(line)
count = len(answer["changes"])
prefix = "dry run: " if answer["dry_run"] else ""
if count == 0:
    print(f"{prefix}no changes ({answer['unchanged']} entries unchanged)")
else:
    verb = "would change" if answer["dry_run"] else "changed"
    print(f"{prefix}{verb} {count} entries, {answer['unchanged']} unchanged")
PY

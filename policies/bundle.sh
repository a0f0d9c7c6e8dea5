#!/usr/bin/env bash
# Build an OPA bundle directory from the policies in this directory.
# Usage: policies/bundle.sh OUTDIR   (OUTDIR must not exist or be empty)
# Copies every *.rego except *_test.rego plus data.json/data.yaml/data.yml files
# (keeping their relative paths) and writes OUTDIR/.manifest with
#   revision = first 16 hex chars of sha256(contents of the copied files,
#              concatenated in byte-wise sorted order of their relative paths)
#   roots    = ["agentpdp"]
set -euo pipefail

out="${1:?usage: bundle.sh OUTDIR}"
src="$(cd "$(dirname "$0")" && pwd)"

if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
	echo "bundle.sh: $out is not empty; refusing to mix with stale files" >&2
	exit 1
fi
mkdir -p "$out"
out="$(cd "$out" && pwd)"

cd "$src"
mapfile -d '' files < <(
	find agentpdp -type f \
		\( \( -name '*.rego' ! -name '*_test.rego' \) -o -name data.json -o -name data.yaml -o -name data.yml \) \
		-print0 | LC_ALL=C sort -z
)
[ "${#files[@]}" -gt 0 ] || { echo "bundle.sh: no policy files found" >&2; exit 1; }

for f in "${files[@]}"; do
	mkdir -p "$out/$(dirname "$f")"
	cp "$f" "$out/$f"
done

revision="$(cat "${files[@]}" | sha256sum | cut -c1-16)"
printf '{"revision": "%s", "roots": ["agentpdp"]}\n' "$revision" >"$out/.manifest"
echo "bundle: $out revision=$revision files=${#files[@]}"

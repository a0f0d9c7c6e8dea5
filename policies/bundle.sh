#!/usr/bin/env bash
# Build an OPA bundle from the policies in this directory.
#
# Usage: policies/bundle.sh [--authz] [--tar FILE] OUTDIR   (OUTDIR must not exist or be empty)
#
# Default: the decision policies. Copies every *.rego under agentpdp/ except *_test.rego plus
# data.json/data.yaml/data.yml files (keeping their relative paths) and writes OUTDIR/.manifest with
#   revision = first 16 hex chars of sha256(contents of the copied files,
#              concatenated in byte-wise sorted order of their relative paths)
#   roots    = ["agentpdp"]
# The PDP records this revision with every decision (OPA's provenance).
#
# --authz: the OPA server authorization bundle instead: system/authz.rego, roots ["system"] and an
#   empty revision. It is loaded next to the policy bundle (opa run --authorization=basic); the
#   empty revision keeps the policy bundle's revision the only one in OPA's provenance, which is
#   the one the PDP records.
#
# --tar FILE: also write the bundle as a reproducible tar.gz (sorted entries, fixed mtime/owner,
#   no gzip timestamp), as the Helm chart ships it in a ConfigMap. OPA reads a tarball bundle
#   through the ConfigMap volume's symlinks, which a directory bundle cannot (it would also walk
#   the volume's hidden ..<timestamp> directory).
set -euo pipefail

usage() { echo "usage: bundle.sh [--authz] [--tar FILE] OUTDIR" >&2; exit 2; }
kind=policies
tarball=""
while (($#)); do
	case "$1" in
	--authz) kind=authz; shift ;;
	--tar) [ $# -ge 2 ] || usage; tarball="$2"; shift 2 ;;
	-*) usage ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || usage
out="$1"
src="$(cd "$(dirname "$0")" && pwd)"

if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
	echo "bundle.sh: $out is not empty; refusing to mix with stale files" >&2
	exit 1
fi
mkdir -p "$out"
out="$(cd "$out" && pwd)"
if [ -n "$tarball" ]; then
	mkdir -p "$(dirname "$tarball")"
	tarball="$(cd "$(dirname "$tarball")" && pwd)/$(basename "$tarball")"
fi

cd "$src"
if [ "$kind" = authz ]; then
	root=system
	mapfile -d '' files < <(printf '%s\0' system/authz.rego)
	[ -f system/authz.rego ] || { echo "bundle.sh: system/authz.rego not found" >&2; exit 1; }
else
	root=agentpdp
	mapfile -d '' files < <(
		find agentpdp -type f \
			\( \( -name '*.rego' ! -name '*_test.rego' \) -o -name data.json -o -name data.yaml -o -name data.yml \) \
			-print0 | LC_ALL=C sort -z
	)
fi
[ "${#files[@]}" -gt 0 ] || { echo "bundle.sh: no policy files found" >&2; exit 1; }

for f in "${files[@]}"; do
	mkdir -p "$out/$(dirname "$f")"
	cp "$f" "$out/$f"
done

if [ "$kind" = authz ]; then
	revision=""
else
	revision="$(cat "${files[@]}" | sha256sum | cut -c1-16)"
fi
printf '{"revision": "%s", "roots": ["%s"]}\n' "$revision" "$root" >"$out/.manifest"

if [ -n "$tarball" ]; then
	(cd "$out" && tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --mode=u=rwX,go=rX \
		--format=gnu -cf - .manifest "$root") | gzip -n -9 >"$tarball"
fi
echo "bundle: $out ($kind) revision=${revision:-<none>} files=${#files[@]}${tarball:+ tarball=$tarball}"

#!/usr/bin/env bash
# Lint, render and structurally check the agent-pdp Helm chart.
#
#   scripts/helm-check.sh            # full check
#   POLICIES_ONLY=1 scripts/helm-check.sh   # only refresh helm/agent-pdp/policies/
#
# Steps:
#   1. copy the OPA policies (policies/<roots>/**.rego without *_test.rego, plus
#      data.json/yaml/yml) into helm/agent-pdp/policies/ — Helm can only read
#      files inside the chart (the copy is git-ignored);
#   2. optionally `opa check` the copied set (when an opa binary is found);
#   3. helm lint --strict with ci/default-values.yaml and ci/production-values.yaml;
#   4. helm template both and run scripts/check_rendered.py on the output;
#   5. negative tests: invalid values must be rejected (schema or template).
#
# Environment: HELM (helm binary), KUBE_VERSION (default 1.33.0; helm built with
# `go install` otherwise assumes Kubernetes 1.20), POLICIES_DIR (default ./policies),
# POLICY_ROOTS (default "agentpdp", same root as policies/bundle.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHART="$ROOT/helm/agent-pdp"
POLICIES_DIR="${POLICIES_DIR:-$ROOT/policies}"
POLICY_ROOTS="${POLICY_ROOTS:-agentpdp}"
KUBE_VERSION="${KUBE_VERSION:-1.33.0}"

passed=0
failed=0
ok()   { passed=$((passed + 1)); echo "  ok   $*"; }
bad()  { failed=$((failed + 1)); echo "  FAIL $*" >&2; }
die()  { echo "helm-check: $*" >&2; exit 1; }

# ------------------------------------------------------------------ tools
find_helm() {
	if [ -n "${HELM:-}" ]; then echo "$HELM"; return; fi
	if command -v helm >/dev/null 2>&1; then command -v helm; return; fi
	local candidates=(/root/go/bin/helm "$HOME/go/bin/helm")
	if command -v go >/dev/null 2>&1; then candidates+=("$(go env GOPATH)/bin/helm"); fi
	local c
	for c in "${candidates[@]}"; do
		if [ -x "$c" ]; then echo "$c"; return; fi
	done
	return 1
}

find_opa() {
	if command -v opa >/dev/null 2>&1; then command -v opa; return; fi
	local c
	for c in /root/go/bin/opa "$HOME/go/bin/opa"; do
		if [ -x "$c" ]; then echo "$c"; return; fi
	done
	return 1
}

# ------------------------------------------------------------------ 1. policies
sync_policies() {
	local dest="$CHART/policies"
	[ -d "$POLICIES_DIR" ] || die "policies directory $POLICIES_DIR not found"
	mkdir -p "$dest"
	# Remove the previous copy (keep the tracked README placeholder).
	find "$dest" -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
	local count=0 root f
	for root in $POLICY_ROOTS; do
		[ -d "$POLICIES_DIR/$root" ] || die "policy root $POLICIES_DIR/$root not found"
		while IFS= read -r -d '' f; do
			mkdir -p "$dest/$(dirname "$f")"
			cp "$POLICIES_DIR/$f" "$dest/$f"
			count=$((count + 1))
		done < <(cd "$POLICIES_DIR" && find "$root" -type f \
			\( \( -name '*.rego' ! -name '*_test.rego' \) -o -name data.json -o -name data.yaml -o -name data.yml \) \
			-print0 | LC_ALL=C sort -z)
	done
	[ "$count" -gt 0 ] || die "no policy files found under $POLICIES_DIR ($POLICY_ROOTS)"
	if find "$dest" -name '*_test.rego' | grep -q .; then die "a *_test.rego file ended up in the chart"; fi
	echo "helm-check: copied $count policy file(s) from $POLICIES_DIR into $dest"
}

sync_policies
if [ "${POLICIES_ONLY:-0}" = "1" ]; then exit 0; fi

HELM_BIN="$(find_helm)" || die "helm not found (PATH, /root/go/bin, \$(go env GOPATH)/bin); set HELM=/path/to/helm"
echo "helm-check: using $("$HELM_BIN" version --short 2>/dev/null || echo "$HELM_BIN"), kube-version $KUBE_VERSION"

# PyYAML for the structural checks.
if ! python3 -c 'import yaml' >/dev/null 2>&1; then
	echo "helm-check: installing PyYAML"
	python3 -m pip install --quiet --user pyyaml || python3 -m pip install --quiet pyyaml \
		|| die "PyYAML missing and could not be installed"
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# ------------------------------------------------------------------ 2. opa check
if OPA_BIN="$(find_opa)"; then
	if (cd "$CHART/policies" && "$OPA_BIN" check $POLICY_ROOTS) >"$WORK/opa-check.log" 2>&1; then
		ok "opa check: shipped policies (without *_test.rego) compile"
	else
		bad "opa check failed on the shipped policy set:"; cat "$WORK/opa-check.log" >&2
	fi
else
	echo "helm-check: opa not found, skipping 'opa check'"
fi

# ------------------------------------------------------------------ 3+4. lint, render, check
VALUE_SETS=(default production)
for set in "${VALUE_SETS[@]}"; do
	vf="$CHART/ci/$set-values.yaml"
	[ -f "$vf" ] || die "missing $vf"

	# helm lint runs templates in "lint mode", where `fail`/`required` are only
	# logged as [INFO] "Fail:" lines; treat those as errors too.
	if "$HELM_BIN" lint --strict --kube-version "$KUBE_VERSION" "$CHART" -f "$vf" >"$WORK/lint-$set.log" 2>&1 \
		&& ! grep -qE 'Fail:|\[(ERROR|WARNING)\]' "$WORK/lint-$set.log"; then
		ok "helm lint --strict ($set values)"
	else
		bad "helm lint --strict ($set values):"; cat "$WORK/lint-$set.log" >&2
	fi

	if "$HELM_BIN" template agent-pdp "$CHART" --namespace agent-pdp --kube-version "$KUBE_VERSION" \
		-f "$vf" >"$WORK/rendered-$set.yaml" 2>"$WORK/template-$set.log"; then
		ok "helm template ($set values)"
		if python3 "$ROOT/scripts/check_rendered.py" --label "$set" \
			--values "$CHART/values.yaml" --values "$vf" \
			--policies-dir "$CHART/policies" \
			--count-file "$WORK/count-$set" "$WORK/rendered-$set.yaml"; then
			:
		else
			failed=$((failed + 1))
		fi
		if [ -s "$WORK/count-$set" ]; then passed=$((passed + $(cat "$WORK/count-$set"))); fi
	else
		bad "helm template ($set values):"; cat "$WORK/template-$set.log" >&2
	fi
done

# ------------------------------------------------------------------ 5. negative tests
# expect_fail DESCRIPTION REGEX helm-template-args...
expect_fail() {
	local desc="$1" pattern="$2"; shift 2
	local out
	if out="$("$HELM_BIN" template agent-pdp "$CHART" --kube-version "$KUBE_VERSION" "$@" 2>&1)"; then
		bad "negative: $desc: rendering succeeded but must fail"
	elif grep -qiE "$pattern" <<<"$out"; then
		ok "negative: $desc"
	else
		bad "negative: $desc: failed, but not with /$pattern/:"; echo "$out" | head -5 >&2
	fi
}

DEF=(-f "$CHART/ci/default-values.yaml")
expect_fail "vault.authMethod=token rejected by values.schema.json" \
	'schema.*(authMethod|value must be one of)|authMethod.*(value must be one of|enum)' \
	"${DEF[@]}" --set vault.authMethod=token
expect_fail "vault.authMethod=bogus rejected by values.schema.json" \
	'schema.*(authMethod|value must be one of)|authMethod.*(value must be one of|enum)' \
	"${DEF[@]}" --set vault.authMethod=bogus
expect_fail "vault.authMethod=token rejected by the templates even with --skip-schema-validation" \
	'token auth is dev-only' \
	"${DEF[@]}" --set vault.authMethod=token --skip-schema-validation
expect_fail "readOnlyRootFilesystem=false rejected by values.schema.json" \
	'readOnlyRootFilesystem' \
	"${DEF[@]}" --set securityContext.readOnlyRootFilesystem=false
expect_fail "bare chart defaults fail with a 'required' message" \
	'is required'
expect_fail "missing DB password / existingSecret" \
	'database.app.existingSecret' \
	"${DEF[@]}" --set database.app.password=
expect_fail "approle without secret-id" \
	'vault.approle' \
	"${DEF[@]}" --set vault.authMethod=approle --set vault.approle.roleId=r-123
expect_fail "bundle mode without opa.bundle.url" \
	'opa.bundle.url is required' \
	"${DEF[@]}" --set opa.policySource=bundle
expect_fail "invalid opa.policySource rejected by values.schema.json" \
	'policySource' \
	"${DEF[@]}" --set opa.policySource=git
expect_fail "no JWT audience" \
	'config.security.audience is required' \
	"${DEF[@]}" --set config.security.audience=
expect_fail "only a JWKS URI and no issuer" \
	'config.security.issuer is required' \
	"${DEF[@]}" --set config.security.jwt.issuerUri= --set config.security.jwt.jwkSetUri=https://idp.example.com/jwks
expect_fail "issuer and issuerUri disagree" \
	'disagree' \
	"${DEF[@]}" --set config.security.issuer=https://other.example.com

# ------------------------------------------------------------------ summary
if [ "$failed" -gt 0 ]; then
	echo "helm-check: $failed check(s) FAILED, $passed passed" >&2
	exit 1
fi
echo "helm-check: $passed checks passed"

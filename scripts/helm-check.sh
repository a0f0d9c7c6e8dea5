#!/usr/bin/env bash
# Lint, render and structurally check the agent-pdp Helm chart.
#
#   scripts/helm-check.sh            # full check
#   POLICIES_ONLY=1 scripts/helm-check.sh   # only refresh helm/agent-pdp/policies/
#
# Steps:
#   1. build the OPA bundles the chart ships (policies/bundle.sh --tar) into helm/agent-pdp/policies/:
#      bundle.tar.gz (the decision policies with their revision) and authz.tar.gz (system.authz)
#      — Helm can only read files inside the chart (the copies are git-ignored);
#   2. `opa check` the shipped policy set;
#   3. helm lint --strict with ci/default-values.yaml and ci/production-values.yaml;
#   4. helm template both and run scripts/check_rendered.py on the output;
#   5. negative tests: invalid values must be rejected (schema or template);
#   6. scripts/opa_sidecar_check.py: the real opa, started with the rendered sidecar's arguments and
#      ConfigMaps (configmap mode and bundle mode), answers only the decision query and reports the
#      bundle revision.
#
# Tools: helm and opa from make deps (.tools/bin; HELM / OPA_BIN override), Python from the
# project venv (PyYAML). KUBE_VERSION (default 1.33.0; helm built with `go install` otherwise
# assumes Kubernetes 1.20), POLICIES_DIR (default ./policies).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHART="$ROOT/helm/agent-pdp"
POLICIES_DIR="${POLICIES_DIR:-$ROOT/policies}"
KUBE_VERSION="${KUBE_VERSION:-1.33.0}"

passed=0
failed=0
ok()   { passed=$((passed + 1)); echo "  ok   $*"; }
bad()  { failed=$((failed + 1)); echo "  FAIL $*" >&2; }
die()  { echo "helm-check: $*" >&2; exit 1; }

# ------------------------------------------------------------------ tools
# shellcheck source=scripts/stack/lib.sh
source "$ROOT/scripts/stack/lib.sh"
die()  { echo "helm-check: $*" >&2; exit 1; }   # lib.sh has its own; keep this script's prefix

# ------------------------------------------------------------------ 1. policies
sync_policies() {
	local dest="$CHART/policies" tmp
	[ -d "$POLICIES_DIR" ] || die "policies directory $POLICIES_DIR not found"
	mkdir -p "$dest"
	# Remove the previous build (keep the tracked README placeholder).
	find "$dest" -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
	tmp="$(mktemp -d)"
	bash "$POLICIES_DIR/bundle.sh" --tar "$dest/bundle.tar.gz" "$tmp/bundle" \
		|| { rm -rf "$tmp"; die "policies/bundle.sh failed"; }
	bash "$POLICIES_DIR/bundle.sh" --authz --tar "$dest/authz.tar.gz" "$tmp/authz" \
		|| { rm -rf "$tmp"; die "policies/bundle.sh --authz failed"; }
	if tar -tzf "$dest/bundle.tar.gz" | grep -q '_test\.rego$'; then die "a *_test.rego file ended up in the chart"; fi
	rm -rf "$tmp"
	echo "helm-check: built $dest/bundle.tar.gz and $dest/authz.tar.gz from $POLICIES_DIR"
}

sync_policies
if [ "${POLICIES_ONLY:-0}" = "1" ]; then exit 0; fi

HELM_BIN="$(find_helm)"
[ -n "$HELM_BIN" ] || die "helm $STACK_HELM_VERSION not found at ${HELM:-$TOOLS_BIN/helm}; run: make deps"
OPA_BIN="$(find_opa)"
[ -n "$OPA_BIN" ] || die "opa $STACK_OPA_VERSION not found at ${OPA_BIN:-$TOOLS_BIN/opa}; run: make deps"
PY="$(find_tools_python)"
[ -n "$PY" ] || die "the project Python venv ($TOOLS_VENV, with PyYAML) is missing; run: make deps"
echo "helm-check: using $HELM_BIN ($STACK_HELM_VERSION), $OPA_BIN, kube-version $KUBE_VERSION"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# ------------------------------------------------------------------ 2. opa check
mkdir -p "$WORK/shipped"
tar -xzf "$CHART/policies/bundle.tar.gz" -C "$WORK/shipped"
tar -xzf "$CHART/policies/authz.tar.gz" -C "$WORK/shipped"
if (cd "$WORK/shipped" && "$OPA_BIN" check --strict agentpdp system) >"$WORK/opa-check.log" 2>&1; then
	ok "opa check --strict: shipped bundles (without *_test.rego) compile"
else
	bad "opa check failed on the shipped bundles:"; cat "$WORK/opa-check.log" >&2
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
		if "$PY" "$ROOT/scripts/check_rendered.py" --label "$set" \
			--values "$CHART/values.yaml" --values "$vf" \
			--policies-dir "$POLICIES_DIR" \
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
expect_fail "no SPIFFE trust domain" \
	'config.identity.trustDomain is required' \
	"${DEF[@]}" --set config.identity.trustDomain=
expect_fail "a bundle file source without its ConfigMap" \
	'config.identity.bundleFile.configMap is required' \
	"${DEF[@]}" --set config.identity.bundleSource=file
expect_fail "an unknown bundle source rejected by values.schema.json" \
	'bundleSource' \
	"${DEF[@]}" --set config.identity.bundleSource=endpoint
expect_fail "only a JWKS URI and no issuer" \
	'config.security.issuer is required' \
	"${DEF[@]}" --set config.security.jwt.issuerUri= --set config.security.jwt.jwkSetUri=https://idp.example.com/jwks
expect_fail "issuer and issuerUri disagree" \
	'disagree' \
	"${DEF[@]}" --set config.security.issuer=https://other.example.com

expect_fail "opa.extraArgs cannot switch the OPA authorization off" \
	'must not change the OPA API' \
	"${DEF[@]}" --set 'opa.extraArgs[0]=--authorization=off'
expect_fail "opa.extraConfig cannot move the OPA authorization decision" \
	'default_authorization_decision' \
	"${DEF[@]}" --set 'opa.extraConfig.default_authorization_decision=/agentpdp/decision/allow'

# ------------------------------------------------------------------ 6. real opa with the chart's arguments
if "$PY" "$ROOT/scripts/opa_sidecar_check.py" --helm "$HELM_BIN" --opa "$OPA_BIN" --chart "$CHART" \
	--kube-version "$KUBE_VERSION" --values "$CHART/ci/default-values.yaml" \
	--policies-dir "$POLICIES_DIR" --count-file "$WORK/count-opa"; then
	:
else
	failed=$((failed + 1))
fi
if [ -s "$WORK/count-opa" ]; then passed=$((passed + $(cat "$WORK/count-opa"))); fi

# ------------------------------------------------------------------ summary
if [ "$failed" -gt 0 ]; then
	echo "helm-check: $failed check(s) FAILED, $passed passed" >&2
	exit 1
fi
echo "helm-check: $passed checks passed"

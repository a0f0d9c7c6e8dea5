#!/usr/bin/env bash
# Mint an RS256 bearer JWT for a locally running agent-pdp (demo and manual testing only).
#
# Usage: scripts/demo/mint-jwt.sh KEY.pem SUBJECT TENANT "SCOPES" [TTL_SECONDS]
#   KEY.pem      RSA private key (PEM); the PDP must trust its public key
#                (spring.security.oauth2.resourceserver.jwt.public-key-location)
#   SUBJECT      sub claim, e.g. the enforcement point's client id
#   TENANT       tenant claim (name: $JWT_TENANT_CLAIM, default tenant_id)
#   SCOPES       space-separated: decide, approver, security-admin
#   TTL_SECONDS  lifetime (default 43200 = 12 h)
# Claims: iss ($JWT_ISSUER, default agent-pdp-demo; the PDP accepts only the issuer it is configured with,
# PDP_SECURITY_ISSUER), sub, aud ($JWT_AUDIENCE, default agent-pdp), iat, exp, jti, tenant claim, scope.
# Prints the token on stdout. Needs bash and openssl only.
set -euo pipefail

die() { printf 'mint-jwt.sh: %s\n' "$*" >&2; exit 2; }

[[ $# -ge 4 && $# -le 5 ]] || die 'usage: mint-jwt.sh KEY.pem SUBJECT TENANT "SCOPES" [TTL_SECONDS]'
key="$1" subject="$2" tenant="$3" scopes="$4" ttl="${5:-43200}"
audience="${JWT_AUDIENCE:-agent-pdp}"
issuer="${JWT_ISSUER:-agent-pdp-demo}"
tenant_claim="${JWT_TENANT_CLAIM:-tenant_id}"

[[ -r "$key" ]] || die "cannot read private key $key"
# Values go into JSON unescaped, so only plain identifier characters are accepted.
ident='^[A-Za-z0-9][A-Za-z0-9._:/@-]*$'
[[ "$subject" =~ $ident ]] || die "SUBJECT must match $ident"
[[ "$tenant" =~ $ident ]] || die "TENANT must match $ident"
[[ "$audience" =~ $ident ]] || die "JWT_AUDIENCE must match $ident"
[[ "$issuer" =~ $ident ]] || die "JWT_ISSUER must match $ident"
[[ "$tenant_claim" =~ ^[A-Za-z_][A-Za-z0-9_.-]*$ ]] || die "JWT_TENANT_CLAIM is not a plain claim name"
[[ "$scopes" =~ ^[A-Za-z0-9._:/@\ -]*$ ]] || die "SCOPES must be space-separated plain scope names"
[[ "$ttl" =~ ^[1-9][0-9]*$ ]] || die "TTL_SECONDS must be a positive integer"

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

now="$(date +%s)"
jti="$(openssl rand -hex 16)"
header='{"alg":"RS256","typ":"JWT"}'
payload="$(printf '{"iss":"%s","sub":"%s","aud":"%s","iat":%d,"exp":%d,"jti":"%s","%s":"%s","scope":"%s"}' \
  "$issuer" "$subject" "$audience" "$now" "$((now + ttl))" "$jti" "$tenant_claim" "$tenant" "$scopes")"

signing_input="$(printf '%s' "$header" | b64url).$(printf '%s' "$payload" | b64url)"
signature="$(printf '%s' "$signing_input" | openssl dgst -sha256 -sign "$key" -binary | b64url)"
[[ -n "$signature" ]] || die "signing failed"
printf '%s.%s\n' "$signing_input" "$signature"

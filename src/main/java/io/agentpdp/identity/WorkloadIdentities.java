package io.agentpdp.identity;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;

import io.spiffe.spiffeid.TrustDomain;

/**
 * The agent's workload identity: a SPIFFE JWT-SVID ({@code agent.workload_identity_token}) verified against the
 * trust bundle of the configured trust domain, for the PDP's audience, within its lifetime, and naming a SPIFFE
 * ID the registry binds to the agent. The token itself is never logged nor stored.
 */
@Component
public class WorkloadIdentities {

    /** Why an identity is not verified ({@code null} when it is). */
    public enum Reason {
        /** No token was sent. */
        MISSING,
        /** Not a JWT, not a SPIFFE ID in {@code sub}, no {@code exp}/{@code iat}, or a {@code typ} other than JWT/JOSE. */
        MALFORMED,
        /** Signed with an algorithm SPIFFE does not use (HMAC, none). */
        UNSUPPORTED_ALGORITHM,
        /** The SPIFFE ID is of another trust domain than the configured one. */
        FOREIGN_TRUST_DOMAIN,
        /** The key id is not in the trust domain's bundle (or there is none). */
        UNKNOWN_KEY,
        /** The signature does not verify with the bundle's key. */
        BAD_SIGNATURE,
        /** Past {@code exp} (plus the clock-skew allowance). */
        EXPIRED,
        /** Before {@code iat}/{@code nbf} (minus the allowance). */
        NOT_YET_VALID,
        /** {@code exp - iat} is longer than {@code pdp.identity.max-lifetime}. */
        LIFETIME_TOO_LONG,
        /** {@code aud} does not name the PDP's audience. */
        WRONG_AUDIENCE,
        /** A valid SVID, but its SPIFFE ID is not one the registry binds to this agent. */
        NOT_BOUND_TO_AGENT,
        /** The trust bundle cannot be had now (SPIRE agent unreachable, bundle file unreadable): fail closed. */
        BUNDLE_UNAVAILABLE;

        public String wire() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * The verdict on one request's identity. {@code required}: the decision's tool risk tier requires a verified
     * identity. {@code spiffeId}/{@code trustDomain} are set once the SVID's signature verified (so also for an
     * expired SVID or one bound to another agent), never from an unverified token.
     */
    public record Verification(boolean required, boolean verified, String spiffeId, String trustDomain, Reason reason) {

        /** {@code agent.workload_identity} of the policy input (policies/schemas/input.json). */
        public Map<String, Object> policyInput() {
            Map<String, Object> input = new LinkedHashMap<>();
            input.put("verified", verified);
            input.put("required", required);
            input.put("spiffe_id", spiffeId);
            input.put("trust_domain", trustDomain);
            input.put("reason", reason == null ? null : reason.wire());
            return input;
        }
    }

    private final JwtSvidVerifier verifier;
    private final Set<String> requiredRiskTiers;

    @Autowired
    WorkloadIdentities(IdentityProperties properties, TrustBundles bundles) {
        this(new JwtSvidVerifier(TrustDomain.parse(properties.trustDomain()), properties.audience(),
                properties.maxLifetime(), properties.clockSkew(), bundles, properties.verifiedCacheSize()),
                properties.requiredRiskTiers());
    }

    WorkloadIdentities(JwtSvidVerifier verifier, Set<String> requiredRiskTiers) {
        this.verifier = verifier;
        this.requiredRiskTiers = requiredRiskTiers;
    }

    /**
     * Verifies {@code token} for {@code agentId}, whose registry entry binds {@code boundSpiffeIds}, at the
     * decision's time {@code now} (the database's clock). {@code toolRiskTier} is the registered tool's tier, null
     * for an unregistered tool (then an identity is required).
     */
    public Verification verify(String token, List<String> boundSpiffeIds, String toolRiskTier, Instant now) {
        boolean required = toolRiskTier == null || requiredRiskTiers.contains(toolRiskTier);
        JwtSvidVerifier.Checked checked = verifier.check(token, now);
        if (checked.spiffeId() == null) {
            return new Verification(required, false, null, null, checked.failure());
        }
        String spiffeId = checked.spiffeId().toString();
        String trustDomain = checked.spiffeId().getTrustDomain().getName();
        if (checked.failure() != null) {
            return new Verification(required, false, spiffeId, trustDomain, checked.failure());
        }
        if (boundSpiffeIds == null || !boundSpiffeIds.contains(spiffeId)) {
            return new Verification(required, false, spiffeId, trustDomain, Reason.NOT_BOUND_TO_AGENT);
        }
        return new Verification(required, true, spiffeId, trustDomain, null);
    }
}

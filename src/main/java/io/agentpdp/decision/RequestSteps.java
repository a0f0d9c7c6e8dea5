package io.agentpdp.decision;

import org.springframework.stereotype.Component;

import io.agentpdp.registry.Registry;
import io.agentpdp.web.Problems;

/** The steps that need no database: authenticate (rate limit, tenant check) and canonicalise the target. */
@Component
class RequestSteps {

    static final String TENANT_MISMATCH = "tenant_mismatch";
    static final String NON_CANONICAL_TARGET = "non_canonical_target";

    private final RateLimiter rateLimiter;
    private final Registry registry;

    RequestSteps(RateLimiter rateLimiter, Registry registry) {
        this.rateLimiter = rateLimiter;
        this.registry = registry;
    }

    /**
     * The token was verified before the service ran (Spring Security, scope {@code decide}). Here: the caller's
     * rate limit, keyed by its own tenant (a caller cannot spend another tenant's allowance), then the tenant
     * check: a body naming another tenant is a recorded DENY under the caller's tenant (evidence about the caller).
     */
    void authenticate(DecisionState s) {
        if (!rateLimiter.tryAcquire(s.caller.tenant(), s.request.agent().id())) {
            throw new Problems.ApiException(429, "Too many requests",
                    "The decision rate limit for this tenant or agent is exceeded; the action is denied. Retry later.");
        }
        if (!s.caller.tenant().equals(s.request.tenant())) {
            throw new Refusal(403, "Forbidden",
                    "The token's tenant may not decide for tenant '" + s.request.tenant() + "'.", TENANT_MISMATCH);
        }
    }

    /** Never looked up raw: another spelling of a classified resource must not come out unclassified. */
    void canonicaliseTarget(DecisionState s) {
        try {
            s.target = registry.canonicalTarget(s.request.target().system(), s.request.target().resource());
        } catch (Registry.NonCanonicalNameException e) {
            throw new Refusal(400, "Non-canonical target name", e.getMessage()
                    + " Send the canonical name (docs/architecture.md, canonical resource names); the action is denied.",
                    NON_CANONICAL_TARGET);
        }
    }
}

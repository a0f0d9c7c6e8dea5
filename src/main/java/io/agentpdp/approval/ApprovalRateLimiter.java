package io.agentpdp.approval;

import org.springframework.stereotype.Component;

import io.agentpdp.ratelimit.TokenBuckets;

/**
 * Keeps a flood of STEP_UPs from burying the approvers: each new approval request takes a token from its
 * agent's bucket and from its requesting enforcement point's (the caller principal), both per tenant and
 * replica ({@code pdp.approval.creation-*}). Finding the request already open for an action takes none.
 */
@Component
class ApprovalRateLimiter {

    private final TokenBuckets buckets = new TokenBuckets(100_000);
    private final TokenBuckets.Rate agentRate;
    private final TokenBuckets.Rate callerRate;

    ApprovalRateLimiter(ApprovalProperties properties) {
        this.agentRate = new TokenBuckets.Rate(properties.creationAgentPerMinute() / 60.0, properties.creationAgentBurst());
        this.callerRate = new TokenBuckets.Rate(properties.creationCallerPerMinute() / 60.0, properties.creationCallerBurst());
    }

    boolean tryAcquire(String tenant, String agentId, String callerPrincipal) {
        return buckets.tryAcquire("a\u0000" + tenant + "\u0000" + agentId, agentRate,
                "c\u0000" + tenant + "\u0000" + callerPrincipal, callerRate).granted();
    }
}

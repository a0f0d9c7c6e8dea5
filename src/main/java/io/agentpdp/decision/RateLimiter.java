package io.agentpdp.decision;

import java.util.function.LongSupplier;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;

import io.agentpdp.ratelimit.TokenBuckets;

/** Token buckets per tenant and per agent, checked before any other work on the decide path. */
@Component
class RateLimiter {

    private final TokenBuckets buckets;
    private final TokenBuckets.Rate tenantRate;
    private final TokenBuckets.Rate agentRate;

    @Autowired
    RateLimiter(RateLimitProperties limits) {
        this(limits, System::nanoTime);
    }

    RateLimiter(RateLimitProperties limits, LongSupplier nanoClock) {
        this.buckets = new TokenBuckets(limits.maxTrackedKeys(), nanoClock);
        this.tenantRate = new TokenBuckets.Rate(limits.tenantPerSecond(), limits.tenantBurst());
        this.agentRate = new TokenBuckets.Rate(limits.agentPerSecond(), limits.agentBurst());
    }

    /** Takes one token from the tenant's and the agent's bucket; false (taking none) if either is empty. */
    boolean tryAcquire(String tenant, String agentId) {
        return buckets.tryAcquire("t\u0000" + tenant, tenantRate, "a\u0000" + tenant + "\u0000" + agentId, agentRate).granted();
    }
}

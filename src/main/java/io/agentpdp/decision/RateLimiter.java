package io.agentpdp.decision;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;

/** Token buckets per tenant and per agent, checked before any other work on the decide path. */
@Component
class RateLimiter {

    private final RateLimitProperties limits;
    private final LongSupplier nanoClock;
    private final Map<String, Bucket> buckets;

    @Autowired
    RateLimiter(RateLimitProperties limits) {
        this(limits, System::nanoTime);
    }

    RateLimiter(RateLimitProperties limits, LongSupplier nanoClock) {
        this.limits = limits;
        this.nanoClock = nanoClock;
        this.buckets = new LinkedHashMap<>(1024, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Bucket> eldest) {
                return size() > limits.maxTrackedKeys();
            }
        };
    }

    /** Takes one token from the tenant's and the agent's bucket; false (taking none) if either is empty. */
    synchronized boolean tryAcquire(String tenant, String agentId) {
        long now = nanoClock.getAsLong();
        Bucket tenantBucket = buckets.computeIfAbsent("t\u0000" + tenant, k -> new Bucket(limits.tenantBurst(), now));
        Bucket agentBucket = buckets.computeIfAbsent("a\u0000" + tenant + "\u0000" + agentId, k -> new Bucket(limits.agentBurst(), now));
        tenantBucket.refill(now, limits.tenantPerSecond(), limits.tenantBurst());
        agentBucket.refill(now, limits.agentPerSecond(), limits.agentBurst());
        if (tenantBucket.tokens < 1 || agentBucket.tokens < 1) {
            return false;
        }
        tenantBucket.tokens--;
        agentBucket.tokens--;
        return true;
    }

    private static final class Bucket {
        double tokens;
        long updated;

        Bucket(double tokens, long now) {
            this.tokens = tokens;
            this.updated = now;
        }

        void refill(long now, double perSecond, double burst) {
            tokens = Math.min(burst, tokens + (now - updated) / 1e9 * perSecond);
            updated = now;
        }
    }
}

package io.agentpdp.ratelimit;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Per-replica request limits of every API except {@code POST /v1/decisions} (which has its own, per tenant
 * and agent: {@code pdp.limits.*}). A request over a limit gets 429 with {@code Retry-After}.
 *
 * @param callerPerSecond sustained requests per second per caller (token subject within its tenant; default 50)
 * @param callerBurst     burst allowance per caller (default 100)
 * @param tenantPerSecond sustained requests per second per tenant, all its callers together (default 200)
 * @param tenantBurst     burst allowance per tenant (default 400)
 * @param maxTrackedKeys  most callers+tenants tracked at once; least recently used are forgotten (default 100000)
 */
@ConfigurationProperties("pdp.api-limits")
record ApiRateLimitProperties(@DefaultValue("50") double callerPerSecond,
                              @DefaultValue("100") double callerBurst,
                              @DefaultValue("200") double tenantPerSecond,
                              @DefaultValue("400") double tenantBurst,
                              @DefaultValue("100000") int maxTrackedKeys) {

    TokenBuckets.Rate callerRate() {
        return new TokenBuckets.Rate(callerPerSecond, callerBurst);
    }

    TokenBuckets.Rate tenantRate() {
        return new TokenBuckets.Rate(tenantPerSecond, tenantBurst);
    }
}

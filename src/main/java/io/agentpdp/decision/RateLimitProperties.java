package io.agentpdp.decision;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Per-replica request limits on the decide path; a request over a limit gets 429 (DENY), never a decision.
 * They protect the PDP and its dependencies; the quarantine triggers judge agent behaviour separately.
 *
 * @param tenantPerSecond sustained decisions per second per tenant (default 500)
 * @param tenantBurst     burst allowance per tenant (default 1000)
 * @param agentPerSecond  sustained decisions per second per agent (default 50)
 * @param agentBurst      burst allowance per agent (default 100)
 * @param maxTrackedKeys  most tenants+agents tracked at once; least recently used are forgotten (default 100000)
 */
@ConfigurationProperties("pdp.limits")
record RateLimitProperties(@DefaultValue("500") double tenantPerSecond,
                           @DefaultValue("1000") double tenantBurst,
                           @DefaultValue("50") double agentPerSecond,
                           @DefaultValue("100") double agentBurst,
                           @DefaultValue("100000") int maxTrackedKeys) {
}

package io.agentpdp.policy;

import java.net.URI;
import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * How the PDP reaches its OPA sidecar.
 *
 * @param url            OPA base URL (default http://127.0.0.1:8181, the sidecar on loopback)
 * @param decisionPath   data path of the decision document (default agentpdp/decision/result)
 * @param timeout        whole-request deadline for one evaluation (default 250ms); past it the decision is DENY
 * @param connectTimeout TCP connect deadline (default 100ms)
 * @param maxTtl         longest credential TTL a policy may grant (default 1h); a longer one makes the result invalid
 * @param maxUses        most uses a policy may grant one credential (default 100)
 * @param maxConnections pooled keep-alive connections to OPA, so evaluations at once (default 8, about four per core
 *                       of the sidecar); more wait for one, first come first served, within {@code timeout}. With 64
 *                       on two shared cores, up to 32 evaluations ran at once and some missed the deadline at the peak
 *                       (bench/README.md, "CPU in session 9")
 */
@ConfigurationProperties("pdp.opa")
record PolicyProperties(@DefaultValue("http://127.0.0.1:8181") URI url,
                        @DefaultValue("agentpdp/decision/result") String decisionPath,
                        @DefaultValue("250ms") Duration timeout,
                        @DefaultValue("100ms") Duration connectTimeout,
                        @DefaultValue("1h") Duration maxTtl,
                        @DefaultValue("100") int maxUses,
                        @DefaultValue("8") int maxConnections) {
}

package io.agentpdp.identity;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Workload identity (SPIFFE JWT-SVID) verification.
 *
 * @param trustDomain       the SPIFFE trust domain whose SVIDs are accepted, e.g. {@code agent-pdp.test}. Required: the
 *                          PDP refuses to start without it
 * @param audience          the audience every SVID must name in {@code aud} (default {@code agent-pdp})
 * @param maxLifetime       longest accepted SVID lifetime, {@code exp - iat} (default 15m; SPIRE issues 5m by default)
 * @param clockSkew         how far past {@code exp} (or before {@code nbf}/{@code iat}) an SVID is still accepted,
 *                          judged by the database's clock (default 10s, at most 1m)
 * @param bundleSource      where the trust bundle comes from: {@code workload-api} (a SPIRE agent's Workload API,
 *                          default) or {@code file} (a SPIFFE bundle, JWKS)
 * @param workloadApiSocket the Workload API address, e.g. {@code unix:/run/spire/agent.sock} (default: the
 *                          {@code SPIFFE_ENDPOINT_SOCKET} environment variable)
 * @param bundleFile        the SPIFFE bundle file, for {@code bundle-source: file}
 * @param refresh           how often the bundle file is read again, and how often a Workload API connection that
 *                          failed is tried again (default 30s)
 * @param connectTimeout    how long start-up waits for the first bundle from the Workload API before it goes on
 *                          without one (decisions are then DENY {@code bundle_unavailable} until it arrives; default 5s)
 * @param requiredRiskTiers the tool risk tiers whose decisions require a verified workload identity (default all:
 *                          low, medium, high, critical)
 * @param verifiedCacheSize SVIDs whose signature verified that are remembered, so an agent's next decisions with the
 *                          same token skip the signature check (default 4096; 0 switches it off). The claims and the
 *                          bundle's key are checked again at every decision
 */
@ConfigurationProperties("pdp.identity")
record IdentityProperties(String trustDomain,
                          @DefaultValue("agent-pdp") String audience,
                          @DefaultValue("15m") Duration maxLifetime,
                          @DefaultValue("10s") Duration clockSkew,
                          @DefaultValue("workload-api") BundleSourceKind bundleSource,
                          String workloadApiSocket,
                          Path bundleFile,
                          @DefaultValue("30s") Duration refresh,
                          @DefaultValue("5s") Duration connectTimeout,
                          @DefaultValue({"low", "medium", "high", "critical"}) Set<String> requiredRiskTiers,
                          @DefaultValue("4096") int verifiedCacheSize) {

    enum BundleSourceKind { WORKLOAD_API, FILE }

    IdentityProperties {
        if (trustDomain == null || trustDomain.isBlank()) {
            throw new IllegalArgumentException("pdp.identity.trust-domain is required (PDP_IDENTITY_TRUST_DOMAIN): the "
                    + "SPIFFE trust domain whose JWT-SVIDs identify agents");
        }
        if (audience == null || audience.isBlank()) {
            throw new IllegalArgumentException("pdp.identity.audience must not be empty");
        }
        if (maxLifetime.isNegative() || maxLifetime.isZero()) {
            throw new IllegalArgumentException("pdp.identity.max-lifetime must be positive");
        }
        if (clockSkew.isNegative() || clockSkew.compareTo(Duration.ofMinutes(1)) > 0) {
            throw new IllegalArgumentException("pdp.identity.clock-skew must be between 0s and 1m");
        }
        if (bundleSource == BundleSourceKind.FILE && bundleFile == null) {
            throw new IllegalArgumentException("pdp.identity.bundle-file is required with pdp.identity.bundle-source=file");
        }
        if (refresh.isNegative() || refresh.isZero()) {
            throw new IllegalArgumentException("pdp.identity.refresh must be positive");
        }
        requiredRiskTiers = requiredRiskTiers == null ? Set.of() : Set.copyOf(requiredRiskTiers);
    }
}

package io.agentpdp.security;

import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Caller authentication settings. The JWT itself is validated by Spring Security from
 * {@code spring.security.oauth2.resourceserver.jwt.*} (issuer-uri, jwk-set-uri or public-key-location, audiences).
 *
 * @param tenantClaim  JWT claim that names the caller's tenant (default {@code tenant_id}); the tenant is never taken from a request body
 * @param jwtClockSkew   how far past its {@code exp} (or before its {@code nbf}) a token is still accepted, to absorb
 *                       clock differences between the token issuer and this replica (default 30s, at most 5m)
 * @param maxClockOffset largest difference between this replica's clock and the database's before the replica reports
 *                       itself not ready (health component {@code clock}; default 10s)
 * @param jwtCacheTtl    how long a verified bearer token is trusted without checking its signature again, capped by its
 *                       {@code exp} with no skew allowance (default 60s; {@code 0s} verifies every request). Bounds how
 *                       long a signing key removed from the key set keeps working for tokens already seen.
 * @param jwtCacheSize   most verified tokens remembered per replica (default 10000; 0 disables the cache)
 */
@ConfigurationProperties("pdp.security")
record SecurityProperties(@DefaultValue("tenant_id") String tenantClaim,
                          @DefaultValue("30s") Duration jwtClockSkew,
                          @DefaultValue("10s") Duration maxClockOffset,
                          @DefaultValue("60s") Duration jwtCacheTtl,
                          @DefaultValue("10000") int jwtCacheSize) {

    SecurityProperties {
        // A large allowance would quietly extend every token's lifetime.
        if (jwtClockSkew.isNegative() || jwtClockSkew.compareTo(Duration.ofMinutes(5)) > 0) {
            throw new IllegalArgumentException("pdp.security.jwt-clock-skew must be between 0 and 5m, got " + jwtClockSkew);
        }
        if (maxClockOffset.isNegative() || maxClockOffset.isZero()) {
            throw new IllegalArgumentException("pdp.security.max-clock-offset must be positive, got " + maxClockOffset);
        }
    }
}

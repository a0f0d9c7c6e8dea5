package io.agentpdp.security;

import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Caller authentication settings. The JWT itself is validated by Spring Security from
 * {@code spring.security.oauth2.resourceserver.jwt.*} (issuer-uri, jwk-set-uri or public-key-location, audiences).
 *
 * @param tenantClaim  JWT claim that names the caller's tenant (default {@code tenant_id}); the tenant is never taken from a request body
 * @param jwtCacheTtl  how long a verified bearer token is trusted without checking its signature again, capped by its
 *                     {@code exp} (default 60s; {@code 0s} verifies every request). Bounds how long a signing key
 *                     removed from the key set keeps working for tokens already seen.
 * @param jwtCacheSize most verified tokens remembered per replica (default 10000; 0 disables the cache)
 */
@ConfigurationProperties("pdp.security")
record SecurityProperties(@DefaultValue("tenant_id") String tenantClaim,
                          @DefaultValue("60s") Duration jwtCacheTtl,
                          @DefaultValue("10000") int jwtCacheSize) {
}

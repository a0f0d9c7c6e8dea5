package io.agentpdp.security;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Caller authentication settings. The JWT itself is validated by Spring Security from
 * {@code spring.security.oauth2.resourceserver.jwt.*} (issuer-uri, jwk-set-uri or public-key-location, audiences).
 *
 * @param tenantClaim JWT claim that names the caller's tenant (default {@code tenant_id}); the tenant is never taken from a request body
 */
@ConfigurationProperties("pdp.security")
record SecurityProperties(@DefaultValue("tenant_id") String tenantClaim) {
}

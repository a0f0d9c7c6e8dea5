package io.agentpdp.security;

import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Caller authentication settings. Where the signing keys come from and the required audiences are
 * {@code spring.security.oauth2.resourceserver.jwt.*} (jwk-set-uri, public-key-location or issuer-uri;
 * audiences); {@link JwtDecoderConfig} builds the decoder from them and from these settings.
 *
 * @param tenantClaim  JWT claim that names the caller's tenant (default {@code tenant_id}); the tenant is never taken
 *                     from a request body, and a claim that is not a string makes the token invalid
 * @param issuer       the {@code iss} every token must carry; defaults to {@code spring.security.oauth2.resourceserver.jwt.issuer-uri}.
 *                     One of the two is required: without an issuer the PDP refuses to start
 * @param jwtClockSkew   how far past its {@code exp} (or before its {@code nbf}) a token is still accepted, to absorb
 *                       clock differences between the token issuer and this replica (default 30s, at most 5m)
 * @param maxClockOffset largest difference between this replica's clock and the database's before the replica reports
 *                       itself not ready (health component {@code clock}; default 10s)
 * @param jwtCacheTtl    how long a verified bearer token is trusted without checking its signature again, capped by its
 *                       {@code exp} with no skew allowance (default 30s; {@code 0s} verifies every request)
 * @param jwtCacheSize   most verified tokens remembered per replica (default 10000; 0 disables the cache)
 * @param jwksCacheTtl   how long the key set fetched from the JWKS endpoint is used before it is fetched again (default
 *                       30s). A key removed from the JWKS stops verifying within {@code jwks-cache-ttl + jwt-cache-ttl}
 * @param jwksRefreshMinInterval least time between two JWKS fetches (default 10s, at most {@code jwks-cache-ttl}): a token
 *                       whose {@code kid} is not in the cached set triggers one fetch, and more such tokens within this
 *                       interval are refused without another
 * @param caseInsensitiveIssuers issuers whose subjects are compared case-insensitively (default none): for them a
 *                       subject is NFKC-normalised and case-folded before any comparison ({@link Principal}). List an
 *                       issuer here when its identity provider treats user names case-insensitively, so that
 *                       {@code Alice} cannot pass for someone other than {@code alice}
 */
@ConfigurationProperties("pdp.security")
record SecurityProperties(@DefaultValue("tenant_id") String tenantClaim,
                          String issuer,
                          @DefaultValue("30s") Duration jwtClockSkew,
                          @DefaultValue("10s") Duration maxClockOffset,
                          @DefaultValue("30s") Duration jwtCacheTtl,
                          @DefaultValue("10000") int jwtCacheSize,
                          @DefaultValue("30s") Duration jwksCacheTtl,
                          @DefaultValue("10s") Duration jwksRefreshMinInterval,
                          @DefaultValue("") java.util.Set<String> caseInsensitiveIssuers) {

    SecurityProperties {
        // A large allowance would quietly extend every token's lifetime.
        if (jwtClockSkew.isNegative() || jwtClockSkew.compareTo(Duration.ofMinutes(5)) > 0) {
            throw new IllegalArgumentException("pdp.security.jwt-clock-skew must be between 0 and 5m, got " + jwtClockSkew);
        }
        if (maxClockOffset.isNegative() || maxClockOffset.isZero()) {
            throw new IllegalArgumentException("pdp.security.max-clock-offset must be positive, got " + maxClockOffset);
        }
        if (jwtCacheTtl.isNegative()) {
            throw new IllegalArgumentException("pdp.security.jwt-cache-ttl must not be negative, got " + jwtCacheTtl);
        }
        if (!jwksCacheTtl.isPositive()) {
            throw new IllegalArgumentException("pdp.security.jwks-cache-ttl must be positive, got " + jwksCacheTtl);
        }
        // A longer interval would refuse every token once the cached set expires, until the interval is over.
        if (!jwksRefreshMinInterval.isPositive() || jwksRefreshMinInterval.compareTo(jwksCacheTtl) > 0) {
            throw new IllegalArgumentException("pdp.security.jwks-refresh-min-interval must be positive and at most "
                    + "pdp.security.jwks-cache-ttl (" + jwksCacheTtl + "), got " + jwksRefreshMinInterval);
        }
        issuer = issuer == null || issuer.isBlank() ? null : issuer.strip();
        caseInsensitiveIssuers = caseInsensitiveIssuers == null ? java.util.Set.of()
                : caseInsensitiveIssuers.stream().filter(i -> !i.isBlank())
                        .map(i -> java.text.Normalizer.normalize(i.strip(), java.text.Normalizer.Form.NFC))
                        .collect(java.util.stream.Collectors.toUnmodifiableSet());
    }
}

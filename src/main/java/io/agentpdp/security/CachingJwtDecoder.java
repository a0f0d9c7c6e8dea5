package io.agentpdp.security;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.google.common.hash.Hashing;

import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.jwt.JwtDecoder;
import org.springframework.security.oauth2.jwt.JwtException;

/**
 * Remembers tokens that Spring Security's decoder has already verified, so an enforcement point that
 * reuses its bearer token does not cost an RSA signature check per decision (about a tenth of the PDP's
 * CPU at peak). Only successful verifications are cached, keyed by the SHA-256 of the token (the token
 * itself is not kept), and a hit is honoured only while the token is unexpired by this clock, with no
 * skew allowance, and for at most {@code ttl} after its verification (so a signing key removed from the
 * JWKS stops being trusted within that time plus the key set's cache time, {@link JwksKeySource}). A failed
 * verification is never cached: every bad token is checked. Caffeine bounds the entries (its size eviction
 * keeps the tokens used most) and drops them after {@code ttl}; whether a hit may be used is decided by this
 * clock alone.
 */
final class CachingJwtDecoder implements JwtDecoder {

    private final JwtDecoder delegate;
    private final Duration ttl;
    private final Clock clock;
    private final Cache<String, Entry> verified;

    private record Entry(Jwt jwt, Instant validUntil) {
    }

    CachingJwtDecoder(JwtDecoder delegate, Duration ttl, int maxEntries, Clock clock) {
        this.delegate = delegate;
        this.ttl = ttl;
        this.clock = clock;
        // Eviction runs on the callers' threads (no pool of its own), soon after the write that overfills it.
        this.verified = Caffeine.newBuilder().maximumSize(maxEntries).expireAfterWrite(ttl).executor(Runnable::run).build();
    }

    @Override
    public Jwt decode(String token) throws JwtException {
        String key = sha256(token);
        Instant now = clock.instant();
        Entry hit = verified.getIfPresent(key);
        if (hit != null) {
            if (now.isBefore(hit.validUntil())) {
                return hit.jwt();
            }
            verified.asMap().remove(key, hit);
        }
        Jwt jwt = delegate.decode(token);
        Instant validUntil = now.plus(ttl);
        if (jwt.getExpiresAt() != null && jwt.getExpiresAt().isBefore(validUntil)) {
            validUntil = jwt.getExpiresAt();
        }
        if (now.isBefore(validUntil)) {
            verified.put(key, new Entry(jwt, validUntil));
        }
        return jwt;
    }

    long size() {
        verified.cleanUp();
        return verified.estimatedSize();
    }

    private static String sha256(String token) {
        return Hashing.sha256().hashString(token, StandardCharsets.UTF_8).toString();
    }

    /** The decoder to use: {@code decoder} behind a cache, unless caching is switched off. */
    static JwtDecoder around(JwtDecoder decoder, SecurityProperties properties, Clock clock) {
        if (decoder instanceof CachingJwtDecoder || !properties.jwtCacheTtl().isPositive() || properties.jwtCacheSize() <= 0) {
            return decoder;
        }
        return new CachingJwtDecoder(decoder, properties.jwtCacheTtl(), properties.jwtCacheSize(), clock);
    }
}

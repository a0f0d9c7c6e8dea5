package io.agentpdp.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.springframework.security.oauth2.jwt.BadJwtException;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.jwt.JwtDecoder;

/** Pure logic: what the verified-token cache may and may not remember. The delegate is a plain fake. */
class CachingJwtDecoderTest {

    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    private final AtomicInteger verifications = new AtomicInteger();
    private Instant now = T0;
    private final Clock clock = new Clock() {
        @Override public java.time.ZoneId getZone() { return ZoneOffset.UTC; }
        @Override public Clock withZone(java.time.ZoneId zone) { return this; }
        @Override public Instant instant() { return now; }
    };

    /** Accepts tokens "good-<exp epoch seconds>", rejects everything else. */
    private final JwtDecoder delegate = token -> {
        verifications.incrementAndGet();
        if (!token.startsWith("good-")) {
            throw new BadJwtException("bad signature");
        }
        Instant exp = Instant.ofEpochSecond(Long.parseLong(token.substring(5)));
        return Jwt.withTokenValue(token).header("alg", "RS256").subject("caller").issuedAt(T0).expiresAt(exp).build();
    };

    private CachingJwtDecoder cache(Duration ttl, int size) {
        return new CachingJwtDecoder(delegate, ttl, size, clock);
    }

    @Test
    void aVerifiedTokenIsNotVerifiedAgainWithinTheTtl() {
        CachingJwtDecoder decoder = cache(Duration.ofSeconds(60), 10);
        String token = "good-" + T0.plusSeconds(3600).getEpochSecond();
        Jwt first = decoder.decode(token);
        now = T0.plusSeconds(59);
        assertThat(decoder.decode(token)).isSameAs(first);
        assertThat(verifications).hasValue(1);
        now = T0.plusSeconds(60);
        decoder.decode(token);
        assertThat(verifications).as("verified again once the cache TTL is over").hasValue(2);
    }

    @Test
    void aHitNeverOutlivesTheTokensExpiry() {
        CachingJwtDecoder decoder = cache(Duration.ofMinutes(10), 10);
        String token = "good-" + T0.plusSeconds(30).getEpochSecond();
        decoder.decode(token);
        now = T0.plusSeconds(30);
        decoder.decode(token);
        assertThat(verifications).as("at exp the delegate decides again (and would reject it)").hasValue(2);
    }

    @Test
    void rejectedTokensAreNeverCached() {
        CachingJwtDecoder decoder = cache(Duration.ofSeconds(60), 10);
        for (int i = 0; i < 3; i++) {
            assertThatThrownBy(() -> decoder.decode("forged")).isInstanceOf(BadJwtException.class);
        }
        assertThat(verifications).hasValue(3);
        assertThat(decoder.size()).isZero();
    }

    @Test
    void theCacheIsBounded() {
        CachingJwtDecoder decoder = cache(Duration.ofSeconds(60), 5);
        for (int i = 0; i < 50; i++) {
            decoder.decode("good-" + (T0.getEpochSecond() + 3600 + i));
            assertThat(decoder.size()).isLessThanOrEqualTo(5);
        }
    }

    @Test
    void switchedOffItIsTheDelegate() {
        SecurityProperties off = properties(Duration.ZERO);
        assertThat(CachingJwtDecoder.around(delegate, off, clock)).isSameAs(delegate);
        SecurityProperties on = properties(Duration.ofSeconds(60));
        JwtDecoder wrapped = CachingJwtDecoder.around(delegate, on, clock);
        assertThat(wrapped).isInstanceOf(CachingJwtDecoder.class);
        assertThat(CachingJwtDecoder.around(wrapped, on, clock)).as("never wrapped twice").isSameAs(wrapped);
    }

    private static SecurityProperties properties(Duration jwtCacheTtl) {
        return new SecurityProperties("tenant_id", "https://idp.test", Duration.ofSeconds(30), Duration.ofSeconds(10),
                jwtCacheTtl, 10000, Duration.ofSeconds(30), Duration.ofSeconds(10), java.util.Set.of());
    }
}

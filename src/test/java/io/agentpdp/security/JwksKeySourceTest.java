package io.agentpdp.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jose.RemoteKeySourceException;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.JWKSetCacheRefreshEvaluator;
import com.nimbusds.jose.jwk.source.JWKSetSource;
import com.nimbusds.jose.jwk.source.JWKSetUnavailableException;
import com.nimbusds.jose.jwk.source.RateLimitReachedException;
import com.nimbusds.jose.proc.SecurityContext;

/** Pure logic: the JWKS fetch limiter between the key cache and the endpoint. The endpoint is a plain fake. */
class JwksKeySourceTest {

    private final AtomicInteger fetches = new AtomicInteger();
    private final AtomicBoolean endpointDown = new AtomicBoolean();
    private final JWKSetSource<SecurityContext> endpoint = new JWKSetSource<>() {
        @Override
        public JWKSet getJWKSet(JWKSetCacheRefreshEvaluator evaluator, long currentTime, SecurityContext context)
                throws KeySourceException {
            fetches.incrementAndGet();
            if (endpointDown.get()) {
                throw new RemoteKeySourceException("connection refused", null);
            }
            return new JWKSet(List.of());
        }

        @Override
        public void close() {
        }
    };
    private final JwksKeySource.OneFetchPerInterval limiter = new JwksKeySource.OneFetchPerInterval(endpoint, 10_000);

    private JWKSet fetchAt(long millis) throws KeySourceException {
        return limiter.getJWKSet(JWKSetCacheRefreshEvaluator.forceRefresh(), millis, null);
    }

    @Test
    void theEndpointIsFetchedAtMostOncePerInterval() throws KeySourceException {
        fetchAt(0);
        for (long t = 1; t < 10_000; t += 1_000) {
            long at = t;
            assertThatThrownBy(() -> fetchAt(at)).isInstanceOf(RateLimitReachedException.class);
        }
        assertThat(fetches).hasValue(1);
        fetchAt(10_000);
        assertThat(fetches).as("once the interval is over").hasValue(2);
    }

    @Test
    void afterAFailedFetchTheKeysAreUnavailableNotUnknownUntilTheNextAllowedFetch() throws KeySourceException {
        endpointDown.set(true);
        assertThatThrownBy(() -> fetchAt(0)).isInstanceOf(RemoteKeySourceException.class);
        assertThatThrownBy(() -> fetchAt(5_000)).isInstanceOf(JWKSetUnavailableException.class)
                .hasCauseInstanceOf(RemoteKeySourceException.class);
        assertThat(fetches).as("an unreachable endpoint is not asked again within the interval").hasValue(1);
        endpointDown.set(false);
        fetchAt(10_000);
        assertThatThrownBy(() -> fetchAt(11_000)).as("a success clears the failure").isInstanceOf(RateLimitReachedException.class);
        assertThat(fetches).hasValue(2);
    }

    @Test
    void theIntervalCannotExceedTheCacheTtl() {
        assertThatThrownBy(() -> new SecurityProperties("tenant_id", "https://idp.test", java.time.Duration.ofSeconds(30),
                java.time.Duration.ofSeconds(10), java.time.Duration.ofSeconds(30), 10000, java.time.Duration.ofSeconds(30),
                java.time.Duration.ofSeconds(31), java.util.Set.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("jwks-refresh-min-interval");
    }
}

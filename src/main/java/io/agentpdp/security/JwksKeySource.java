package io.agentpdp.security;

import java.io.IOException;
import java.net.MalformedURLException;
import java.net.URI;
import java.net.URL;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSelector;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.CachingJWKSetSource;
import com.nimbusds.jose.jwk.source.JWKSetBasedJWKSource;
import com.nimbusds.jose.jwk.source.JWKSetCacheRefreshEvaluator;
import com.nimbusds.jose.jwk.source.JWKSetSource;
import com.nimbusds.jose.jwk.source.JWKSetSourceWrapper;
import com.nimbusds.jose.jwk.source.JWKSetUnavailableException;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.RateLimitReachedException;
import com.nimbusds.jose.jwk.source.URLBasedJWKSetSource;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.DefaultResourceRetriever;
import com.nimbusds.jose.util.JSONObjectUtils;
import com.nimbusds.jose.util.ResourceRetriever;

/**
 * The issuer's signing keys, from its JWKS endpoint, with two bounds that Spring Security's default source
 * lacks: the fetched key set is used for {@code jwks-cache-ttl} and no longer (so a key removed from the JWKS
 * stops verifying within that time, plus the verified-token cache's), and the endpoint is fetched at most
 * once per {@code jwks-refresh-min-interval}, however many tokens name a key id it does not know. A token
 * refused that way is an invalid token (401), as it would be after the fetch. Built from Nimbus' pieces:
 * the HTTP fetch, its cache (one fetch at a time, others wait), and a limiter in between.
 */
final class JwksKeySource {

    /** Connect and read deadline of one JWKS or discovery fetch, and the most a waiting request waits for it. */
    private static final int FETCH_TIMEOUT_MS = 2_000;
    private static final int MAX_DOCUMENT_BYTES = 256 * 1024;

    private JwksKeySource() {
    }

    /** Keys from a JWKS endpoint. */
    static JWKSource<SecurityContext> fromJwkSetUri(String jwkSetUri, Duration cacheTtl, Duration refreshMinInterval) {
        return build(new URLBasedJWKSetSource<>(url(jwkSetUri), retriever()), cacheTtl, refreshMinInterval);
    }

    /** Keys from the JWKS endpoint an OpenID Connect / OAuth 2.0 issuer publishes in its metadata, found on first use. */
    static JWKSource<SecurityContext> fromIssuer(String issuer, Duration cacheTtl, Duration refreshMinInterval) {
        return build(new DiscoveredJwkSetSource(issuer, retriever()), cacheTtl, refreshMinInterval);
    }

    private static JWKSource<SecurityContext> build(JWKSetSource<SecurityContext> fetch, Duration cacheTtl,
                                                    Duration refreshMinInterval) {
        JWKSetSource<SecurityContext> cached = new CachingJWKSetSource<>(
                new OneFetchPerInterval(fetch, refreshMinInterval.toMillis()), cacheTtl.toMillis(), 2L * FETCH_TIMEOUT_MS + 500L, null);
        return new RateLimitedMeansNoKey(new JWKSetBasedJWKSource<>(cached));
    }

    private static ResourceRetriever retriever() {
        return new DefaultResourceRetriever(FETCH_TIMEOUT_MS, FETCH_TIMEOUT_MS, MAX_DOCUMENT_BYTES);
    }

    private static URL url(String location) {
        try {
            return URI.create(location).toURL();
        } catch (MalformedURLException | IllegalArgumentException e) {
            throw new IllegalStateException("Not a valid JWKS URL: " + location, e);
        }
    }

    /**
     * At most one call to the endpoint per interval, failed calls included (an unreachable issuer is not
     * asked again at every request). The cache above calls it only when its set expired, which is never
     * sooner than the interval after the last successful fetch, or for a key id it does not know. Within
     * the interval after a failed fetch the failure stands (the keys are unavailable, not the token bad).
     */
    static final class OneFetchPerInterval extends JWKSetSourceWrapper<SecurityContext> {

        private final long intervalMillis;
        private long lastFetch = Long.MIN_VALUE;
        private KeySourceException lastFailure;

        OneFetchPerInterval(JWKSetSource<SecurityContext> source, long intervalMillis) {
            super(source);
            this.intervalMillis = intervalMillis;
        }

        @Override
        public JWKSet getJWKSet(JWKSetCacheRefreshEvaluator refreshEvaluator, long currentTime, SecurityContext context)
                throws KeySourceException {
            synchronized (this) {
                if (lastFetch != Long.MIN_VALUE && currentTime - lastFetch < intervalMillis) {
                    if (lastFailure != null) {
                        throw new JWKSetUnavailableException("The JWKS could not be fetched: " + lastFailure.getMessage(), lastFailure);
                    }
                    throw new RateLimitReachedException();
                }
                lastFetch = currentTime;
            }
            try {
                JWKSet keys = getSource().getJWKSet(refreshEvaluator, currentTime, context);
                synchronized (this) {
                    lastFailure = null;
                }
                return keys;
            } catch (KeySourceException e) {
                synchronized (this) {
                    lastFailure = e;
                }
                throw e;
            }
        }
    }

    /** A key id that could not be looked up again yet is a key this PDP does not know: the token is invalid. */
    private record RateLimitedMeansNoKey(JWKSource<SecurityContext> delegate) implements JWKSource<SecurityContext> {

        @Override
        public List<JWK> get(JWKSelector selector, SecurityContext context) throws KeySourceException {
            try {
                return delegate.get(selector, context);
            } catch (RateLimitReachedException e) {
                return List.of();
            }
        }
    }

    /**
     * Finds {@code jwks_uri} in the issuer's metadata ({@code /.well-known/openid-configuration}, else RFC 8414's
     * {@code /.well-known/oauth-authorization-server}), whose {@code issuer} must be the configured one, then
     * fetches from there. Until a discovery succeeds, every fetch tries it again.
     */
    private static final class DiscoveredJwkSetSource implements JWKSetSource<SecurityContext> {

        private final String issuer;
        private final ResourceRetriever retriever;
        private volatile URLBasedJWKSetSource<SecurityContext> jwks;

        DiscoveredJwkSetSource(String issuer, ResourceRetriever retriever) {
            this.issuer = issuer;
            this.retriever = retriever;
        }

        @Override
        public JWKSet getJWKSet(JWKSetCacheRefreshEvaluator refreshEvaluator, long currentTime, SecurityContext context)
                throws KeySourceException {
            URLBasedJWKSetSource<SecurityContext> source = jwks;
            if (source == null) {
                source = new URLBasedJWKSetSource<>(url(discoverJwksUri()), retriever);
                jwks = source;
            }
            return source.getJWKSet(refreshEvaluator, currentTime, context);
        }

        private String discoverJwksUri() throws KeySourceException {
            String base = issuer.endsWith("/") ? issuer.substring(0, issuer.length() - 1) : issuer;
            URI uri = URI.create(base);
            String path = uri.getRawPath() == null ? "" : uri.getRawPath();
            String origin = base.substring(0, base.length() - path.length());
            KeySourceException failure = null;
            for (String metadata : List.of(base + "/.well-known/openid-configuration",
                    origin + "/.well-known/oauth-authorization-server" + path)) {
                try {
                    Map<String, Object> json = JSONObjectUtils.parse(retriever.retrieveResource(url(metadata)).getContent());
                    if (!issuer.equals(json.get("issuer"))) {
                        throw new KeySourceException("The metadata at " + metadata + " names issuer " + json.get("issuer")
                                + ", not " + issuer);
                    }
                    if (!(json.get("jwks_uri") instanceof String jwksUri) || jwksUri.isBlank()) {
                        throw new KeySourceException("The metadata at " + metadata + " has no jwks_uri");
                    }
                    return jwksUri;
                } catch (IOException | java.text.ParseException | IllegalStateException e) {
                    failure = new KeySourceException("Could not read the issuer metadata at " + metadata + ": " + e.getMessage(), e);
                } catch (KeySourceException e) {
                    failure = e;
                }
            }
            throw failure;
        }

        @Override
        public void close() {
            // Nothing held open: every fetch is its own connection.
        }
    }
}

package io.agentpdp.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ApplicationContextInitializer;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.MapPropertySource;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.sun.net.httpserver.HttpServer;

import io.agentpdp.support.Api;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;

/**
 * Keys from a JWKS endpoint, served here by a real HTTP server standing in for the identity provider:
 * a key removed from the JWKS stops verifying within {@code jwks-cache-ttl + jwt-cache-ttl}, and tokens
 * with unknown key ids cost at most one JWKS fetch per {@code jwks-refresh-min-interval}.
 */
class JwksRotationTest extends IntegrationTest {

    /** A decision that does not exist: 404 once the token is accepted, 401 when it is not. */
    private static final String PROBE = "/v1/decisions/00000000-0000-0000-0000-000000000000";

    private final List<JWK> published = new CopyOnWriteArrayList<>();
    private final AtomicInteger fetches = new AtomicInteger();
    private HttpServer identityProvider;

    @BeforeEach
    void startIdentityProvider() throws IOException {
        identityProvider = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        identityProvider.createContext("/jwks", exchange -> {
            fetches.incrementAndGet();
            byte[] body = new JWKSet(List.copyOf(published)).toString(true).getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/jwk-set+json");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        identityProvider.createContext("/realms/agents/.well-known/openid-configuration", exchange -> {
            String issuer = issuer();
            byte[] body = ("{\"issuer\":\"" + issuer + "\",\"jwks_uri\":\"" + jwksUri() + "\"}").getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        identityProvider.start();
    }

    @AfterEach
    void stopIdentityProvider() {
        identityProvider.stop(0);
    }

    @Test
    void aKeyRemovedFromTheJwksStopsVerifyingWithinTheConfiguredBound() throws Exception {
        RSAKey a = key("a");
        RSAKey b = key("b");
        published.addAll(List.of(a.toPublicJWK(), b.toPublicJWK()));
        // Bound: jwks-cache-ttl 2 s + jwt-cache-ttl 1 s.
        try (ConfigurableApplicationContext replica = replica(jwks("2s", "1s", "1s"))) {
            Api api = api(replica);
            String seenBefore = TestJwts.signedWith(a, "gw", "acme", "decide");
            assertThat(api.get(PROBE, seenBefore).status()).isEqualTo(404);

            published.remove(a.toPublicJWK());
            long removed = System.nanoTime();
            int status;
            do {
                Thread.sleep(100);
                status = api.get(PROBE, seenBefore).status();
            } while (status != 401 && System.nanoTime() - removed < Duration.ofSeconds(15).toNanos());
            Duration took = Duration.ofNanos(System.nanoTime() - removed);
            assertThat(status).as("a token signed by the removed key, already verified once").isEqualTo(401);
            // 3 s bound; the slack is for a loaded machine, not for a bound that does not hold (Spring's default: 5 min).
            assertThat(took).isLessThan(Duration.ofSeconds(3).plusSeconds(3));
            assertThat(api.get(PROBE, TestJwts.signedWith(a, "gw", "acme", "decide")).status())
                    .as("a new token signed by the removed key").isEqualTo(401);
            assertThat(api.get(PROBE, TestJwts.signedWith(b, "gw", "acme", "decide")).status())
                    .as("the remaining key still verifies").isEqualTo(404);
        }
    }

    @Test
    void tokensWithUnknownKeyIdsFetchTheJwksAtMostOncePerInterval() throws Exception {
        RSAKey b = key("b");
        published.add(b.toPublicJWK());
        // The set stays cached for a minute: every fetch below is one an unknown key id asked for.
        try (ConfigurableApplicationContext replica = replica(jwks("60s", "30s", "2s"))) {
            Api api = api(replica);
            assertThat(api.get(PROBE, TestJwts.signedWith(b, "gw", "acme", "decide")).status()).isEqualTo(404);
            int before = fetches.get();
            Thread.sleep(2_200);

            RSAKey stranger = key("unused");
            List<String> unknownKeyIds = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                unknownKeyIds.add(TestJwts.signedWith(new RSAKey.Builder(stranger).keyID("kid-" + UUID.randomUUID()).build(),
                        "attacker", "acme", "decide"));
            }
            RSAKey c = key("c");
            published.add(c.toPublicJWK());
            long start = System.nanoTime();
            for (String token : unknownKeyIds) {
                assertThat(api.get(PROBE, token).status()).isEqualTo(401);
            }
            long intervals = Duration.ofNanos(System.nanoTime() - start).toMillis() / 2_000;
            int burst = fetches.get() - before;
            assertThat(burst).as("JWKS fetches for 40 unknown key ids in %s interval(s) of 2 s", intervals + 1)
                    .isBetween(1, (int) intervals + 1);
            assertThat(api.get(PROBE, TestJwts.signedWith(c, "gw", "acme", "decide")).status())
                    .as("a key published before that fetch is known without another").isEqualTo(404);
            assertThat(fetches.get() - before).isEqualTo(burst);
        }
    }

    @Test
    void anUnreachableIdentityProviderIsA503ProblemOnceTheKeysExpireAndNeverAnAllow() throws Exception {
        RSAKey b = key("b");
        published.add(b.toPublicJWK());
        try (ConfigurableApplicationContext replica = replica(jwks("1s", "0s", "1s"))) {
            Api api = api(replica);
            assertThat(api.get(PROBE, TestJwts.signedWith(b, "gw", "acme", "decide")).status()).isEqualTo(404);
            identityProvider.stop(0);
            Thread.sleep(1_200);
            for (int i = 0; i < 5; i++) {
                Api.Answer answer = api.post("/v1/decisions", TestJwts.signedWith(b, "gw", "acme", "decide"),
                        request("acme", "agent-7", "crm.contacts.read", "read", "crm", "contacts/1", "public"));
                assertThat(answer.status()).as("the keys cannot be checked: unavailable, not a bad token").isEqualTo(503);
                assertThat(answer.contentType()).startsWith("application/problem+json");
                assertThat(answer.text("decision")).isEqualTo("DENY");
            }
        }
    }

    @Test
    void withOnlyAnIssuerUriTheKeysAreFoundThroughItsMetadataAndItsIssuerIsRequired() throws Exception {
        RSAKey b = key("b");
        published.add(b.toPublicJWK());
        String issuer = issuer();
        ApplicationContextInitializer<ConfigurableApplicationContext> issuerOnly = context -> context.getEnvironment()
                .getPropertySources().addFirst(new MapPropertySource("issuer-only", Map.of(
                        "spring.security.oauth2.resourceserver.jwt.issuer-uri", issuer,
                        "spring.security.oauth2.resourceserver.jwt.public-key-location", "",
                        "pdp.security.issuer", "")));
        try (ConfigurableApplicationContext replica = replica(issuerOnly)) {
            Api api = api(replica);
            assertThat(api.get(PROBE, TestJwts.signedWith(b, claims -> claims.issuer(issuer), "gw", "acme", "decide")).status())
                    .isEqualTo(404);
            assertThat(api.get(PROBE, TestJwts.signedWith(b, "gw", "acme", "decide")).status())
                    .as("same key, another issuer").isEqualTo(401);
        }
    }

    private String issuer() {
        return "http://127.0.0.1:" + identityProvider.getAddress().getPort() + "/realms/agents";
    }

    private String jwksUri() {
        return "http://127.0.0.1:" + identityProvider.getAddress().getPort() + "/jwks";
    }

    private ApplicationContextInitializer<ConfigurableApplicationContext> jwks(String jwksCacheTtl, String jwtCacheTtl,
                                                                               String refreshMinInterval) {
        String uri = jwksUri();
        return context -> context.getEnvironment().getPropertySources().addFirst(new MapPropertySource("jwks", Map.of(
                "spring.security.oauth2.resourceserver.jwt.jwk-set-uri", uri,
                "pdp.security.jwks-cache-ttl", jwksCacheTtl,
                "pdp.security.jwt-cache-ttl", jwtCacheTtl,
                "pdp.security.jwks-refresh-min-interval", refreshMinInterval)));
    }

    private static Api api(ConfigurableApplicationContext replica) {
        return new Api(((WebServerApplicationContext) replica).getWebServer().getPort());
    }

    private static RSAKey key(String id) {
        try {
            return new RSAKeyGenerator(2048).keyID(id + "-" + UUID.randomUUID()).generate();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }
}

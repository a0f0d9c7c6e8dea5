package io.agentpdp.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.springframework.context.ApplicationContextInitializer;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.MapPropertySource;

import io.agentpdp.support.Api;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;

/** Every endpoint needs a valid JWT with the right scope; failures are problem+json and DENY. */
class AuthenticationTest extends IntegrationTest {

    private Object body(String tenant) {
        return request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/1", "public");
    }

    @Test
    void noTokenIs401() {
        Api.Answer answer = api().post("/v1/decisions", null, body("acme"));
        assertThat(answer.status()).isEqualTo(401);
        assertThat(answer.contentType()).startsWith("application/problem+json");
        assertThat(answer.text("decision")).isEqualTo("DENY");
    }

    @Test
    void expiredTokenIs401() {
        assertThat(api().post("/v1/decisions", TestJwts.expiredToken("gw", "acme", "decide"), body("acme")).status()).isEqualTo(401);
    }

    /** pdp.security.jwt-clock-skew (default 30 s) absorbs clock differences with the issuer, and no more. */
    @Test
    void expiryIsJudgedWithTheConfiguredClockSkew() {
        Instant now = Instant.now();
        assertThat(decideWith(TestJwts.tokenValid("gw", "acme", null, now.minusSeconds(10), "decide")))
                .as("expired 10 s ago: within the skew").isNotEqualTo(401);
        assertThat(decideWith(TestJwts.tokenValid("gw", "acme", null, now.minusSeconds(45), "decide")))
                .as("expired 45 s ago: beyond the skew").isEqualTo(401);
        assertThat(decideWith(TestJwts.tokenValid("gw", "acme", now.plusSeconds(10), now.plusSeconds(300), "decide")))
                .as("valid in 10 s: within the skew").isNotEqualTo(401);
        assertThat(decideWith(TestJwts.tokenValid("gw", "acme", now.plusSeconds(45), now.plusSeconds(300), "decide")))
                .as("valid in 45 s: beyond the skew").isEqualTo(401);
        assertThat(decideWith(TestJwts.tokenValid("gw", "acme", null, null, "decide")))
                .as("a token without exp would never expire").isEqualTo(401);
    }

    private int decideWith(String token) {
        return api().post("/v1/decisions", token, body("acme")).status();
    }

    @Test
    void tokenSignedByAnUntrustedKeyIs401() {
        assertThat(api().post("/v1/decisions", TestJwts.foreignToken("gw", "acme", "decide"), body("acme")).status()).isEqualTo(401);
    }

    @Test
    void garbageTokenIs401() {
        assertThat(api().post("/v1/decisions", "not.a.jwt", body("acme")).status()).isEqualTo(401);
    }

    @Test
    void approverScopeCannotDecide() {
        Api.Answer answer = api().post("/v1/decisions", TestJwts.token("human", "acme", "approver"), body("acme"));
        assertThat(answer.status()).isEqualTo(403);
        assertThat(answer.text("decision")).isEqualTo("DENY");
    }

    @Test
    void tokenWithoutSubjectIs401() {
        // The audit record names its caller: a token that names none is not a valid caller's token.
        assertThat(api().post("/v1/decisions", TestJwts.token(null, "acme", "decide"), body("acme")).status()).isEqualTo(401);
        assertThat(api().post("/v1/decisions", TestJwts.token(" ", "acme", "decide"), body("acme")).status()).isEqualTo(401);
    }

    @Test
    void tokenWithoutTenantClaimIs403() {
        Api.Answer answer = api().post("/v1/decisions", TestJwts.token("gw", null, "decide"), body("acme"));
        assertThat(answer.status()).isEqualTo(403);
        assertThat(answer.body()).contains("tenant_id");
    }

    @Test
    void readingADecisionNeedsAToken() {
        assertThat(api().get("/v1/decisions/00000000-0000-0000-0000-000000000000", null).status()).isEqualTo(401);
        assertThat(api().get("/v1/decisions/00000000-0000-0000-0000-000000000000",
                TestJwts.token("gw", "acme", "decide")).status()).isEqualTo(404);
    }

    /** The issuer is checked in every key mode, the public-key mode of the tests and the demo included. */
    @Test
    void aTokenFromAnotherIssuerIs401() {
        String otherIssuer = TestJwts.tokenWith(claims -> claims.issuer("https://evil.test/realms/agents"), "gw", "acme", "decide");
        Api.Answer answer = api().post("/v1/decisions", otherIssuer, body("acme"));
        assertThat(answer.status()).isEqualTo(401);
        assertThat(answer.text("decision")).isEqualTo("DENY");
        assertThat(decideWith(TestJwts.tokenWith(claims -> claims.issuer(null), "gw", "acme", "decide")))
                .as("a token naming no issuer").isEqualTo(401);
        assertThat(decideWith(TestJwts.tokenWith(claims -> claims.issuer(TestJwts.ISSUER + "/"), "gw", "acme", "decide")))
                .as("the issuer is compared exactly").isEqualTo(401);
    }

    /** The tenant is one string: an array, a number or an object is never stringified into a tenant id. */
    @Test
    void aTenantClaimThatIsNotAStringIs401() {
        for (Object tenant : List.of(List.of("acme", "other"), List.of("acme"), 42, Map.of("id", "acme"), true)) {
            String token = TestJwts.tokenWith(claims -> claims.claim("tenant_id", tenant), "gw", null, "decide");
            Api.Answer answer = api().post("/v1/decisions", token, body("acme"));
            assertThat(answer.status()).as("tenant_id = %s", tenant).isEqualTo(401);
            assertThat(answer.text("decision")).isEqualTo("DENY");
        }
    }

    @Test
    void thePdpRefusesToStartWithoutAnIssuer() {
        ApplicationContextInitializer<ConfigurableApplicationContext> noIssuer = context -> context.getEnvironment()
                .getPropertySources().addFirst(new MapPropertySource("no-issuer", Map.of("pdp.security.issuer", "")));
        assertThatThrownBy(() -> replica(noIssuer).close())
                .hasStackTraceContaining("No token issuer configured: set pdp.security.issuer");
    }
}

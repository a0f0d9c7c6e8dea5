package io.agentpdp.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;

import org.junit.jupiter.api.Test;

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
}

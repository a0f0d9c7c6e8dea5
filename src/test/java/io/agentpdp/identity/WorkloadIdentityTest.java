package io.agentpdp.identity;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ApplicationContextInitializer;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.MapPropertySource;

import io.agentpdp.support.Api;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;
import io.agentpdp.support.TestSvids;

/**
 * Agents are identified by SPIFFE JWT-SVIDs issued by the stack's real SPIRE (server, agent, Workload API), verified
 * by the PDP against the trust bundle its own Workload API connection streams. What SPIRE cannot issue (a foreign
 * trust domain, a key outside the bundle, expired or too long-lived SVIDs) the test signs itself.
 */
class WorkloadIdentityTest extends IntegrationTest {

    private String tenant;
    private String decide;

    @BeforeEach
    void setUp() {
        tenant = newTenant();
        decide = TestJwts.token("gw-1", tenant, "decide");
        registerAgent(tenant, "agent-7", "alice", new String[] {"crm.contacts.read", "kb.search"}, new String[] {"crm"});
    }

    private Map<String, Object> read(String token) {
        Map<String, Object> body = request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/1", "public");
        Map<String, Object> agent = new HashMap<>();
        agent.put("id", "agent-7");
        if (token != null) {
            agent.put("workload_identity_token", token);
        }
        body.put("agent", agent);
        return body;
    }

    private Api.Answer decideWith(String token) {
        return api().post("/v1/decisions", decide, read(token));
    }

    private Map<String, Object> record(Api.Answer answer) {
        return jdbc.sql("select identity_verified, workload_spiffe_id, reasons::text as reasons from decision_record where id = ?::uuid")
                .param(answer.text("decision_id")).query().singleRow();
    }

    @Test
    void aRealSvidFromSpireForTheAgentsBoundIdIsAllowedAndRecordedAsVerified() {
        Api.Answer allowed = decideWith(TestSvids.token());
        assertThat(allowed.text("outcome")).isEqualTo("ALLOW");
        assertThat(allowed.json().path("credential").path("token").asString()).isNotBlank();
        Map<String, Object> row = record(allowed);
        assertThat(row.get("identity_verified")).isEqualTo(true);
        assertThat(row.get("workload_spiffe_id")).isEqualTo(TestSvids.WORKLOAD_A);
    }

    @Test
    void noSvidIsDeniedAsRequiredAndGetsNoCredential() {
        Api.Answer denied = decideWith(null);
        assertThat(denied.text("outcome")).isEqualTo("DENY");
        assertThat(denied.json().path("reasons").toString()).isEqualTo("[\"workload_identity_required\"]");
        assertThat(denied.json().path("credential").isNull() || denied.json().path("credential").isMissingNode()).isTrue();
        assertThat(record(denied).get("identity_verified")).isEqualTo(false);
    }

    @Test
    void xAsIdentityIsDenied() {
        // The attack of issue 14: only the token's presence used to be checked.
        Api.Answer denied = decideWith("x");
        assertThat(denied.text("outcome")).isEqualTo("DENY");
        assertThat(denied.json().path("reasons").toString())
                .isEqualTo("[\"workload_identity:malformed\",\"workload_identity_invalid\"]");
    }

    @Test
    void anotherAgentsRealSvidIsDenied() {
        // Issued by the same SPIRE to another workload: authentic, but not the identity the registry binds to agent-7.
        Api.Answer denied = decideWith(TestSvids.token(TestSvids.WORKLOAD_B, TestSvids.AUDIENCE));
        assertThat(denied.text("outcome")).isEqualTo("DENY");
        assertThat(denied.json().path("reasons").toString())
                .isEqualTo("[\"workload_identity:not_bound_to_agent\",\"workload_identity_invalid\"]");
        Map<String, Object> row = record(denied);
        assertThat(row.get("identity_verified")).isEqualTo(false);
        assertThat(row.get("workload_spiffe_id")).as("operators see whose SVID it was").isEqualTo(TestSvids.WORKLOAD_B);
    }

    @Test
    void aRealSvidForAnotherAudienceIsDenied() {
        Api.Answer denied = decideWith(TestSvids.token(TestSvids.WORKLOAD_A, "some-other-service"));
        assertThat(denied.json().path("reasons").toString())
                .isEqualTo("[\"workload_identity:wrong_audience\",\"workload_identity_invalid\"]");
    }

    @Test
    void anSvidOfAForeignTrustDomainIsDenied() {
        String foreign = TestSvids.selfSigned("spiffe://evil.example/tests/workload-a", claims -> { });
        assertThat(decideWith(foreign).json().path("reasons").toString())
                .isEqualTo("[\"workload_identity:foreign_trust_domain\",\"workload_identity_invalid\"]");
    }

    @Test
    void anSvidSignedWithAKeyOutsideTheBundleIsDenied() throws Exception {
        // Our own key under an unknown key id, and under the key id SPIRE really uses.
        assertThat(decideWith(TestSvids.selfSigned(TestSvids.WORKLOAD_A, claims -> { })).json().path("reasons").toString())
                .isEqualTo("[\"workload_identity:unknown_key\",\"workload_identity_invalid\"]");
        String spireKeyId = new com.nimbusds.jose.util.Base64URL(TestSvids.token().split("\\.")[0]).decodeToString()
                .replaceAll(".*\"kid\"\\s*:\\s*\"([^\"]+)\".*", "$1");
        String forged = TestSvids.selfSigned(spireKeyId, TestSvids.WORKLOAD_A, claims -> { });
        assertThat(decideWith(forged).json().path("reasons").toString())
                .isEqualTo("[\"workload_identity:bad_signature\",\"workload_identity_invalid\"]");
    }

    @Test
    void aDecideTokenWithoutTheAgentsSvidCannotQuarantineIt() {
        // Tool misuse (outside the manifest) asks for quarantine, and a burst of DENYs would trigger it: neither
        // fires without the agent's own verified identity, whatever the caller sends instead.
        List<String> impostors = List.of("", "x", TestSvids.token(TestSvids.WORKLOAD_B, TestSvids.AUDIENCE),
                TestSvids.selfSigned(TestSvids.WORKLOAD_A, claims -> { }));
        for (int round = 0; round < 3; round++) {
            for (String impostor : impostors) {
                Map<String, Object> misuse = read(impostor.isEmpty() ? null : impostor);
                misuse.put("tool", "shell.exec");
                assertThat(api().post("/v1/decisions", decide, misuse).text("outcome")).isEqualTo("DENY");
            }
        }
        assertThat(jdbc.sql("select count(*) from quarantine where tenant_id = ? and active").param(tenant)
                .query(Long.class).single()).isZero();
        assertThat(decideWith(TestSvids.token()).text("outcome")).isEqualTo("ALLOW");

        // With its real SVID the same misuse quarantines it at once.
        Map<String, Object> misuse = read(TestSvids.token());
        misuse.put("tool", "shell.exec");
        Api.Answer quarantined = api().post("/v1/decisions", decide, misuse);
        assertThat(quarantined.json().path("reasons").toString()).contains("quarantine_trigger:policy:tool_not_in_manifest");
        assertThat(decideWith(TestSvids.token()).json().path("reasons").toString()).isEqualTo("[\"quarantined\"]");
    }

    @Test
    void withABundleFileExpiryAndLifetimeAreCheckedByTheDatabasesClock() throws Exception {
        // A replica that trusts a bundle file holding the test's own key: SVIDs SPIRE would never issue.
        Path bundle = TestSvids.writeBundle();
        try (ConfigurableApplicationContext replica = replica(properties(Map.of("pdp.identity.bundle-source", "file",
                "pdp.identity.bundle-file", bundle.toString())))) {
            Api other = new Api(((WebServerApplicationContext) replica).getWebServer().getPort());
            Instant now = Instant.now();
            String valid = TestSvids.selfSigned(TestSvids.WORKLOAD_A, claims -> { });
            String expired = TestSvids.selfSigned(TestSvids.WORKLOAD_A, claims -> claims
                    .issueTime(Date.from(now.minusSeconds(400))).expirationTime(Date.from(now.minusSeconds(100))));
            String longLived = TestSvids.selfSigned(TestSvids.WORKLOAD_A, claims -> claims
                    .expirationTime(Date.from(now.plusSeconds(3600))));
            assertThat(other.post("/v1/decisions", decide, read(valid)).text("outcome")).isEqualTo("ALLOW");
            assertThat(other.post("/v1/decisions", decide, read(expired)).json().path("reasons").toString())
                    .isEqualTo("[\"workload_identity:expired\",\"workload_identity_invalid\"]");
            assertThat(other.post("/v1/decisions", decide, read(longLived)).json().path("reasons").toString())
                    .isEqualTo("[\"workload_identity:lifetime_too_long\",\"workload_identity_invalid\"]");
            // SPIRE's real SVIDs are not trusted by this replica: the file holds only the test's key.
            assertThat(other.post("/v1/decisions", decide, read(TestSvids.token())).json().path("reasons").toString())
                    .isEqualTo("[\"workload_identity:unknown_key\",\"workload_identity_invalid\"]");
            // The stack's real bundle file trusts them.
            Files.copy(TestSvids.stackBundle(), bundle, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        try (ConfigurableApplicationContext replica = replica(properties(Map.of("pdp.identity.bundle-source", "file",
                "pdp.identity.bundle-file", bundle.toString())))) {
            Api other = new Api(((WebServerApplicationContext) replica).getWebServer().getPort());
            assertThat(other.post("/v1/decisions", decide, read(TestSvids.token())).text("outcome")).isEqualTo("ALLOW");
        }
    }

    @Test
    void withoutABundleEveryDecisionIsDeniedNeverAllowed() {
        try (ConfigurableApplicationContext replica = replica(properties(Map.of(
                "pdp.identity.workload-api-socket", "unix:/nonexistent/agent-pdp/spire.sock",
                "pdp.identity.connect-timeout", "200ms")))) {
            Api other = new Api(((WebServerApplicationContext) replica).getWebServer().getPort());
            Api.Answer denied = other.post("/v1/decisions", decide, read(TestSvids.token()));
            assertThat(denied.text("outcome")).isEqualTo("DENY");
            assertThat(denied.json().path("reasons").toString())
                    .isEqualTo("[\"workload_identity:bundle_unavailable\",\"workload_identity_invalid\"]");
        }
    }

    @Test
    void riskTiersThatDoNotRequireAnIdentityAllowWithoutOneButNeverWithAnInvalidOne() {
        try (ConfigurableApplicationContext replica = replica(properties(Map.of(
                "pdp.identity.required-risk-tiers", "high,critical")))) {
            Api other = new Api(((WebServerApplicationContext) replica).getWebServer().getPort());
            assertThat(other.post("/v1/decisions", decide, read(null)).text("outcome")).isEqualTo("ALLOW");
            assertThat(other.post("/v1/decisions", decide, read("x")).text("outcome")).isEqualTo("DENY");
        }
    }

    private static ApplicationContextInitializer<ConfigurableApplicationContext> properties(Map<String, Object> values) {
        return context -> context.getEnvironment().getPropertySources().addFirst(new MapPropertySource("identity", values));
    }
}

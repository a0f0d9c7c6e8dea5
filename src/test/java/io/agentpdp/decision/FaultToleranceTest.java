package io.agentpdp.decision;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.time.Duration;


import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.server.LocalManagementPort;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.TestPropertySource;
import org.springframework.test.context.DynamicPropertySource;

import io.agentpdp.support.Api;
import io.agentpdp.support.FaultProxy;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;
import io.agentpdp.support.TestStack;
import io.agentpdp.support.TestSvids;
import io.agentpdp.support.VaultProbe;

/**
 * Fail closed: with the real OPA, OpenBao and PostgreSQL behind fault-injecting proxies (or sealed),
 * no failure ever yields ALLOW, each says why, and the PDP recovers without restart.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@TestPropertySource(properties = {"pdp.quarantine.revocation-retry-interval=500ms",
        "pdp.quarantine.rate-threshold=100000", "pdp.limits.agent-per-second=100000", "pdp.limits.agent-burst=100000"})
@ExtendWith(OutputCaptureExtension.class)
class FaultToleranceTest {

    private static final TestStack.Endpoints STACK = TestStack.get();

    private static final FaultProxy OPA = proxyTo(STACK.opaUrl());
    private static final FaultProxy VAULT = proxyTo(STACK.vaultUrl());
    private static final FaultProxy DATABASE = proxyTo("http://" + STACK.postgresUrl().substring("jdbc:postgresql://".length()).replaceFirst("/.*", ""));

    @DynamicPropertySource
    static void throughProxies(DynamicPropertyRegistry registry) {
        IntegrationTest.registerStack(registry, OPA.url(), VAULT.url(),
                STACK.postgresUrl().replaceFirst("//[^/]+/", "//127.0.0.1:" + DATABASE.port() + "/"));
    }

    @LocalServerPort
    private int port;

    @LocalManagementPort
    private int managementPort;

    @Autowired
    private JdbcClient jdbc;

    @Autowired
    private io.micrometer.core.instrument.MeterRegistry meters;

    private String tenant;
    private String token;

    @BeforeEach
    void setUp() {
        tenant = IntegrationTest.newTenant();
        token = TestJwts.token("gw-1", tenant, "decide");
        jdbc.sql("insert into agent (tenant_id, agent_id, owner, allowed_tools, home_systems, spiffe_ids) values (?, 'agent-7', 'alice', ?, ?, ?)")
                .params(tenant, new String[] {"crm.contacts.read"}, new String[] {"crm"}, new String[] {TestSvids.WORKLOAD_A}).update();
        io.agentpdp.support.IntegrationTest.bindAgents(jdbc, tenant, "agent-7");
        IntegrationTest.defaultProfile(jdbc, tenant);
        jdbc.sql("insert into tool (tenant_id, name, target_system, action_kinds, risk_tier, credential_profile, updated_by) values (?, 'crm.contacts.read', 'crm', array['read'], 'low', 'test-default', 'test')")
                .param(tenant).update();
        Api.Answer first = decide();
        assertThat(first.text("outcome")).as(first.json().toString()).isEqualTo("ALLOW");
    }

    @AfterEach
    void heal() {
        OPA.mode(FaultProxy.Mode.PASS);
        VAULT.mode(FaultProxy.Mode.PASS);
        DATABASE.mode(FaultProxy.Mode.PASS);
    }

    private Api.Answer decide() {
        return api().post("/v1/decisions", token, IntegrationTest.request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/1", "public"));
    }

    private void assertDeniedFor(String reason) {
        Api.Answer answer = decide();
        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.text("outcome")).isEqualTo("DENY");
        assertThat(answer.json().path("reasons").toString()).contains(reason);
        assertThat(answer.json().has("credential")).isFalse();
        // Nothing lost: the failed decision has its audit record.
        Api.Answer stored = api().get("/v1/decisions/" + answer.text("decision_id"), token);
        assertThat(stored.status()).isEqualTo(200);
        assertThat(stored.text("outcome")).isEqualTo("DENY");
    }

    private void assertRecovered() {
        Api.Answer answer = decide();
        assertThat(answer.text("outcome")).as(answer.json().toString()).isEqualTo("ALLOW");
    }

    @Test
    void opaUnreachable() {
        OPA.mode(FaultProxy.Mode.DOWN);
        assertDeniedFor("policy_engine_unavailable");
        OPA.mode(FaultProxy.Mode.PASS);
        assertRecovered();
    }

    @Test
    void opaSlowerThanTheTimeout(CapturedOutput output) {
        OPA.delay(Duration.ofSeconds(5));
        OPA.mode(FaultProxy.Mode.SLOW);
        assertDeniedFor("policy_engine_timeout");
        // The operator's log says which of the deadline's three ends it was: here the answer, not a busy pool.
        assertThat(output.getOut()).contains("Policy evaluation failed (policy_engine_timeout): OPA did not answer within PT2S")
                .doesNotContain("no OPA connection was free");
        OPA.mode(FaultProxy.Mode.PASS);
        assertRecovered();
    }

    @Test
    void opaAnsweringGarbage() {
        OPA.mode(FaultProxy.Mode.GARBAGE);
        assertDeniedFor("policy_result_invalid");
        OPA.mode(FaultProxy.Mode.PASS);
        assertRecovered();
    }

    @Test
    void opaAnsweringServerError() {
        OPA.mode(FaultProxy.Mode.ERROR);
        assertDeniedFor("policy_engine_error");
        OPA.mode(FaultProxy.Mode.PASS);
        assertRecovered();
    }

    @Test
    void vaultUnreachable() {
        VAULT.mode(FaultProxy.Mode.DOWN);
        assertDeniedFor("credential_unavailable");
        VAULT.mode(FaultProxy.Mode.PASS);
        assertRecovered();
    }

    @Test
    void aVaultRestartCostsOneDecisionHoweverManyConnectionsWerePooled() throws Exception {
        // Eight decisions at once leave eight keep-alive connections to Vault in the pool.
        try (var executor = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            var answers = new java.util.ArrayList<java.util.concurrent.Future<Api.Answer>>();
            for (int i = 0; i < 8; i++) {
                answers.add(executor.submit(this::decide));
            }
            for (var answer : answers) {
                assertThat(answer.get().text("outcome")).isEqualTo("ALLOW");
            }
        }
        // A restart drops them all, within the 2 s in which a pooled connection is reused unchecked.
        VAULT.cutAll();
        // The first call finds a dropped connection (unless a background revocation found one first): a DENY. That
        // failure shows every pooled connection is from before the restart, so none is tried again. Before, each of
        // the eight cost a decision.
        Api.Answer first = decide();
        assertThat(first.text("outcome")).as(first.json().toString()).isIn("DENY", "ALLOW");
        if (first.text("outcome").equals("DENY")) {
            assertThat(first.json().path("reasons").toString()).isEqualTo("[\"credential_unavailable\"]");
        }
        assertRecovered();
        assertRecovered();
    }

    @Test
    void vaultOutageDenialsNeverQuarantineTheAgent() {
        VAULT.mode(FaultProxy.Mode.DOWN);
        // More than the DENY-burst threshold (5, the default here): dependency failures are not agent behaviour.
        for (int i = 0; i < 6; i++) {
            Api.Answer answer = decide();
            assertThat(answer.text("outcome")).isEqualTo("DENY");
            assertThat(answer.json().path("reasons").toString()).isEqualTo("[\"credential_unavailable\"]");
        }
        VAULT.mode(FaultProxy.Mode.PASS);
        assertRecovered();
        assertThat(jdbc.sql("select count(*) from quarantine where tenant_id = ?").param(tenant).query(Long.class).single())
                .isZero();
    }

    @Test
    void vaultSealed() {
        VaultProbe vault = new VaultProbe(STACK.vaultUrl());
        assertThat(STACK.vaultUnsealKey()).as("the stack must expose the dev server's unseal key").isNotBlank();
        assertThat(vault.seal(STACK.vaultRootToken()).status()).isEqualTo(204);
        try {
            assertDeniedFor("credential_unavailable");
        } finally {
            assertThat(vault.unseal(STACK.vaultUnsealKey()).json().path("sealed").asBoolean()).isFalse();
        }
        assertRecovered();
    }

    @Test
    void databaseDownIs503DenyAndRecovers() {
        DATABASE.mode(FaultProxy.Mode.DOWN);
        Api.Answer answer = decide();
        assertThat(answer.status()).isEqualTo(503);
        assertThat(answer.contentType()).startsWith("application/problem+json");
        assertThat(answer.text("decision")).isEqualTo("DENY");
        DATABASE.mode(FaultProxy.Mode.PASS);
        assertRecovered();
    }

    @Test
    void readinessIs503WithAHealthDocumentWhileTheDatabaseIsDown() throws Exception {
        DATABASE.mode(FaultProxy.Mode.DOWN);
        java.net.http.HttpResponse<String> down = readiness();
        assertThat(down.statusCode()).as(down.body()).isEqualTo(503);
        assertThat(down.headers().firstValue("Content-Type").orElse("")).contains("json").doesNotContain("problem");
        tools.jackson.databind.JsonNode health = tools.jackson.databind.json.JsonMapper.builder().build().readTree(down.body());
        assertThat(health.path("status").asString()).isEqualTo("DOWN");
        assertThat(health.path("components").path("db").path("status").asString()).isEqualTo("DOWN");
        assertThat(health.path("components").path("clock").path("status").asString())
                .as("the clock check needs the database: DOWN, not an error").isEqualTo("DOWN");
        assertThat(health.path("components").path("opa").path("status").asString()).isEqualTo("UP");

        DATABASE.mode(FaultProxy.Mode.PASS);
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        java.net.http.HttpResponse<String> up;
        do {
            up = readiness();
        } while (up.statusCode() != 200 && System.nanoTime() < deadline);
        assertThat(up.statusCode()).as(up.body()).isEqualTo(200);
    }

    private java.net.http.HttpResponse<String> readiness() throws Exception {
        return java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + managementPort + "/actuator/health/readiness")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aRefusalThatCannotBeRecordedIsStillRefused() {
        double unrecorded = meters.counter("pdp.refusals", "status", "400", "result", "unrecorded").count();
        DATABASE.mode(FaultProxy.Mode.DOWN);
        Api.Answer answer = api().post("/v1/decisions", token, "{\"tenant\": ");
        // Already a DENY: the caller gets its 400, only without a decision_id (logged and counted instead).
        assertThat(answer.status()).isEqualTo(400);
        assertThat(answer.text("decision")).isEqualTo("DENY");
        assertThat(answer.json().has("decision_id")).isFalse();
        assertThat(meters.counter("pdp.refusals", "status", "400", "result", "unrecorded").count() - unrecorded).isEqualTo(1);
        DATABASE.mode(FaultProxy.Mode.PASS);
        assertRecovered();
    }

    private Api api() {
        return new Api(port);
    }

    @Test
    void aRevocationThatFailsIsKeptRetriedAndReportedWhileTheQuarantineHolds() throws InterruptedException {
        VaultProbe vault = new VaultProbe(STACK.vaultUrl());
        String live = vault.unwrap(decide().json().path("credential").path("token").asString());
        String admin = TestJwts.token("sec-alice", tenant, "security-admin");

        VAULT.mode(FaultProxy.Mode.DOWN);
        Api.Answer quarantined = api().post("/v1/agents/agent-7/quarantine", admin, java.util.Map.of("reason", "drift"));
        assertThat(quarantined.status()).isEqualTo(200);
        assertThat(quarantined.json().path("revocations_pending").asInt()).isPositive();
        assertThat(decide().json().path("reasons").toString()).isEqualTo("[\"quarantined\"]");
        assertThat(vault.lookupSelf(live).status()).isEqualTo(200);

        VAULT.mode(FaultProxy.Mode.PASS);
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        int pending;
        do {
            Thread.sleep(200);
            pending = api().get("/v1/agents/agent-7/quarantine", admin).json().path("state").path("pending_revocations").asInt();
        } while (pending > 0 && System.nanoTime() < deadline);
        assertThat(pending).isZero();
        assertThat(vault.lookupSelf(live).status()).isEqualTo(403);
        assertThat(api().get("/v1/agents/agent-7/quarantine", admin).json().path("history").findValuesAsString("action"))
                .contains("REVOKE_FAILED", "REVOKE");
    }

    @Test
    void databaseLostMidLoadLosesNothingAndAllowsNothingUnrecorded() throws Exception {
        java.util.List<java.util.concurrent.Future<Api.Answer>> answers = new java.util.ArrayList<>();
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(8)) {
            // ~6 s of load; the database is gone for ~3.5 s, longer than the pool's 2 s connection timeout.
            for (int i = 0; i < 600; i++) {
                if (i == 100) {
                    DATABASE.mode(FaultProxy.Mode.DOWN);
                }
                if (i == 450) {
                    DATABASE.mode(FaultProxy.Mode.PASS);
                }
                answers.add(pool.submit(this::decide));
                Thread.sleep(10);
            }
        }
        java.util.List<String> recordedIds = new java.util.ArrayList<>();
        int unavailable = 0;
        for (var future : answers) {
            Api.Answer answer = future.get();
            if (answer.status() == 200) {
                recordedIds.add(answer.text("decision_id"));
            } else {
                // The only failure allowed is the deliberate one: 503, a DENY, never a credential.
                assertThat(answer.status()).as(answer.body()).isEqualTo(503);
                assertThat(answer.text("decision")).isEqualTo("DENY");
                assertThat(answer.json().has("credential")).isFalse();
                unavailable++;
            }
        }
        assertThat(unavailable).as("the outage must have been felt").isPositive();
        assertThat(recordedIds).as("and the PDP must have recovered").hasSizeGreaterThan(200);
        try (var db = java.sql.DriverManager.getConnection(STACK.postgresUrl(), STACK.appUser(), STACK.appPassword());
             var query = db.prepareStatement("select count(*) from decision_record where id = any (?)")) {
            query.setArray(1, db.createArrayOf("uuid", recordedIds.stream().map(java.util.UUID::fromString).toArray()));
            var rs = query.executeQuery();
            rs.next();
            assertThat(rs.getLong(1)).as("every answered decision has its audit record").isEqualTo(recordedIds.size());
        }
        Api.Answer chain = IntegrationTest.verifyLinked(api(), tenant);
        assertThat(chain.json().path("valid").asBoolean()).isTrue();
    }

    private static FaultProxy proxyTo(String url) {
        URI uri = URI.create(url);
        try {
            return new FaultProxy(uri.getHost(), uri.getPort());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

}

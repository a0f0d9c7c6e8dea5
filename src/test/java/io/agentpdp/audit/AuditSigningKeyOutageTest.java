package io.agentpdp.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.agentpdp.support.Api;
import io.agentpdp.support.FaultProxy;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;
import io.agentpdp.support.TestStack;
import io.agentpdp.support.TestSvids;

/** Fail closed: with the real OpenBao cut off, checkpoints are neither verified as valid nor signed. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class AuditSigningKeyOutageTest {

    private static final TestStack.Endpoints STACK = TestStack.get();
    private static final FaultProxy VAULT = proxyTo(STACK.vaultUrl());

    @DynamicPropertySource
    static void throughProxy(DynamicPropertyRegistry registry) {
        IntegrationTest.registerStack(registry, STACK.opaUrl(), VAULT.url(), STACK.postgresUrl());
    }

    @LocalServerPort
    private int port;

    @Autowired
    private JdbcClient jdbc;

    @AfterEach
    void heal() {
        VAULT.mode(FaultProxy.Mode.PASS);
    }

    @Test
    void verifyAndCheckpointAnswer503WhileTheSigningKeyIsUnreachable() {
        String tenant = IntegrationTest.newTenant();
        jdbc.sql("insert into agent (tenant_id, agent_id, owner, allowed_tools, home_systems, spiffe_ids) values (?, 'agent-7', 'o', ?, ?, ?)")
                .params(tenant, new String[] {"crm.contacts.read"}, new String[] {"crm"}, new String[] {TestSvids.WORKLOAD_A}).update();
        io.agentpdp.support.IntegrationTest.bindAgents(jdbc, tenant, "agent-7");
        Api api = new Api(port);
        String decide = TestJwts.token("gw-1", tenant, "decide");
        String admin = TestJwts.token("sec", tenant, "security-admin");
        assertThat(api.post("/v1/decisions", decide, IntegrationTest.lowRiskRead(tenant)).status()).isEqualTo(200);
        assertThat(api.post("/v1/audit/checkpoints", admin, Map.of()).status()).isEqualTo(200);

        VAULT.mode(FaultProxy.Mode.DOWN);
        // The decision fails closed (no credential) but is recorded: the head moves.
        assertThat(api.post("/v1/decisions", decide, IntegrationTest.lowRiskRead(tenant)).text("outcome")).isEqualTo("DENY");
        Api.Answer verification = api.get("/v1/audit/verify", admin);
        assertThat(verification.status()).isEqualTo(503);
        assertThat(verification.contentType()).startsWith("application/problem+json");
        assertThat(verification.body()).doesNotContain("\"valid\"");
        Api.Answer checkpoint = api.post("/v1/audit/checkpoints", admin, Map.of());
        assertThat(checkpoint.status()).isEqualTo(503);

        VAULT.mode(FaultProxy.Mode.PASS);
        assertThat(api.post("/v1/audit/checkpoints", admin, Map.of()).json().path("seq").asLong()).isEqualTo(2);
        Api.Answer healed = api.get("/v1/audit/verify", admin);
        assertThat(healed.status()).isEqualTo(200);
        assertThat(healed.json().path("valid").asBoolean()).isTrue();
    }

    private static FaultProxy proxyTo(String url) {
        URI uri = URI.create(url);
        try {
            return new FaultProxy(uri.getHost(), uri.getPort());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}

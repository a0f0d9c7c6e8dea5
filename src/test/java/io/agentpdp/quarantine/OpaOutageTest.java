package io.agentpdp.quarantine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.agentpdp.support.Api;
import io.agentpdp.support.FaultProxy;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;
import io.agentpdp.support.TestStack;
import io.agentpdp.support.TestSvids;

/**
 * OWASP ASI08 (cascading failures): a policy-engine outage must not cascade into quarantines. The real OPA
 * sits behind a real proxy that refuses every connection for a minute while 20 registered agents keep
 * deciding, each often enough to cross both automatic triggers at their production defaults (5 DENYs, and
 * 120 decisions, per minute) several times over. Nothing here lowers or lifts a trigger threshold.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class OpaOutageTest {

    private static final TestStack.Endpoints STACK = TestStack.get();
    private static final FaultProxy OPA = proxyTo(STACK.opaUrl());

    private static final int AGENTS = 20;
    private static final Duration OUTAGE = Duration.ofSeconds(60);
    /** One decision per agent this often: 150 a minute, over the rate threshold (120) and the DENY one (5). */
    private static final Duration PACE = Duration.ofMillis(400);

    @DynamicPropertySource
    static void opaThroughTheProxy(DynamicPropertyRegistry registry) {
        IntegrationTest.registerStack(registry, OPA.url(), STACK.vaultUrl(), STACK.postgresUrl());
    }

    @LocalServerPort
    private int port;

    @Autowired
    private JdbcClient jdbc;

    @AfterEach
    void heal() {
        OPA.mode(FaultProxy.Mode.PASS);
    }

    @Test
    void aMinuteWithoutOpaQuarantinesNoAgentAndAllAreAllowedAgainWithoutRelease() throws Exception {
        String tenant = IntegrationTest.newTenant();
        String decide = TestJwts.token("gw-1", tenant, "decide");
        Api api = new Api(port);
        List<String> agents = new ArrayList<>();
        IntegrationTest.defaultProfile(jdbc, tenant);
        jdbc.sql("insert into tool (tenant_id, name, target_system, action_kinds, risk_tier, credential_profile, updated_by) values (?, 'crm.contacts.read', 'crm', array['read'], 'low', 'test-default', 'test')")
                .param(tenant).update();
        for (int i = 0; i < AGENTS; i++) {
            String agent = "agent-" + i;
            jdbc.sql("insert into agent (tenant_id, agent_id, owner, allowed_tools, home_systems, spiffe_ids) values (?, ?, 'alice', ?, ?, ?)")
                    .params(tenant, agent, new String[] {"crm.contacts.read"}, new String[] {"crm"}, new String[] {TestSvids.WORKLOAD_A}).update();
            io.agentpdp.support.IntegrationTest.bindAgents(jdbc, tenant, agent);
            agents.add(agent);
            assertThat(read(api, decide, tenant, agent).text("outcome")).isEqualTo("ALLOW");
        }

        OPA.mode(FaultProxy.Mode.DOWN);
        long end = System.nanoTime() + OUTAGE.toNanos();
        List<Future<Integer>> deciders = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (String agent : agents) {
                deciders.add(pool.submit(() -> {
                    int denied = 0;
                    for (long next = System.nanoTime(); next < end; next += PACE.toNanos()) {
                        Thread.sleep(Duration.ofNanos(Math.max(0, next - System.nanoTime())));
                        Api.Answer answer = read(api, decide, tenant, agent);
                        assertThat(answer.status()).as(answer.body()).isEqualTo(200);
                        assertThat(answer.text("outcome")).isEqualTo("DENY");
                        assertThat(answer.json().path("reasons").toString())
                                .isEqualTo("[\"policy_engine_unavailable\"]");
                        denied++;
                    }
                    return denied;
                }));
            }
        }
        for (Future<Integer> decider : deciders) {
            decider.get();
        }
        OPA.mode(FaultProxy.Mode.PASS);

        // The outage was felt as the triggers would have counted it before: every agent has more dependency
        // DENYs in the last minute than either threshold (recorded, and recorded as dependency failures).
        for (String agent : agents) {
            long recent = jdbc.sql("""
                    select count(*) from decision_record
                    where tenant_id = ? and agent_id = ? and outcome = 'DENY' and cause = 'dependency_failure'
                      and decided_at > now() - interval '1 minute'
                    """).params(tenant, agent).query(Long.class).single();
            assertThat(recent).as("dependency DENYs of " + agent + " within the trigger windows").isGreaterThan(120);
        }
        assertThat(jdbc.sql("select count(*) from quarantine where tenant_id = ?").param(tenant).query(Long.class).single())
                .as("quarantine rows of the tenant").isZero();
        // OPA is back: every agent is allowed again at once, with no release.
        for (String agent : agents) {
            Api.Answer answer = read(api, decide, tenant, agent);
            assertThat(answer.text("outcome")).as(answer.body()).isEqualTo("ALLOW");
            assertThat(answer.json().path("credential").path("token").asString()).isNotBlank();
        }
        assertThat(jdbc.sql("select count(*) from quarantine where tenant_id = ?").param(tenant).query(Long.class).single())
                .isZero();
    }

    private static Api.Answer read(Api api, String token, String tenant, String agent) {
        return api.post("/v1/decisions", token,
                IntegrationTest.request(tenant, agent, "crm.contacts.read", "read", "crm", "contacts/1", "public"));
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

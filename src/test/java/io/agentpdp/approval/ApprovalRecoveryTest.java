package io.agentpdp.approval;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.context.TestPropertySource;

import io.agentpdp.support.Api;
import io.agentpdp.support.FaultProxy;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;
import io.agentpdp.support.TestStack;
import io.agentpdp.support.TestSvids;

/**
 * No approval lost or left open, and no approver flooding, with the real OpenBao behind a fault proxy and the
 * real PostgreSQL failing the STEP_UP's record: a mint that fails after the approval was spent gives it back
 * for exactly one more retry; a STEP_UP whose record fails leaves no request open; a STEP_UP flood is refused,
 * recorded, and leaves the approvers' queue bounded.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@TestPropertySource(properties = {"pdp.quarantine.rate-threshold=100000", "pdp.limits.agent-per-second=100000",
        "pdp.limits.agent-burst=100000", "pdp.approval.creation-agent-burst=5", "pdp.approval.creation-agent-per-minute=1",
        "pdp.approval.creation-caller-burst=8", "pdp.approval.creation-caller-per-minute=1"})
class ApprovalRecoveryTest {

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
    void aMintFailingAfterTheApprovalWasSpentGivesItBackForExactlyOneRetry() {
        String tenant = tenantWithAgent(IntegrationTest.newTenant());
        String id = approvedDelete(tenant);

        VAULT.mode(FaultProxy.Mode.DOWN);
        Api.Answer failed = decide(tenant, "gw-1", withApproval(delete(tenant), id));
        assertThat(failed.text("outcome")).isEqualTo("DENY");
        assertThat(reasons(failed)).contains("credential_unavailable", "approval_retry_granted");
        assertThat(approval(tenant, id).text("status")).isEqualTo("APPROVED");
        assertThat(approval(tenant, id).json().path("retry_decision").asBoolean()).isTrue();

        VAULT.mode(FaultProxy.Mode.PASS);
        Api.Answer retried = decide(tenant, "gw-1", withApproval(delete(tenant), id));
        assertThat(retried.text("outcome")).as(retried.body()).isEqualTo("ALLOW");
        assertThat(retried.json().path("credential").path("token").asString()).isNotBlank();

        Api.Answer replay = decide(tenant, "gw-1", withApproval(delete(tenant), id));
        assertThat(reasons(replay)).contains("approval_consumed");
        assertThat(events(id)).containsSubsequence("CONSUMED", "RESTORED", "CONSUMED");
    }

    @Test
    void aSecondFailedMintSpendsTheApprovalForGood() {
        String tenant = tenantWithAgent(IntegrationTest.newTenant());
        String id = approvedDelete(tenant);

        VAULT.mode(FaultProxy.Mode.DOWN);
        assertThat(reasons(decide(tenant, "gw-1", withApproval(delete(tenant), id)))).contains("approval_retry_granted");
        Api.Answer second = decide(tenant, "gw-1", withApproval(delete(tenant), id));
        assertThat(reasons(second)).contains("credential_unavailable").doesNotContain("approval_retry_granted");
        VAULT.mode(FaultProxy.Mode.PASS);
        assertThat(reasons(decide(tenant, "gw-1", withApproval(delete(tenant), id)))).contains("approval_consumed");
    }

    @Test
    void aStepUpWhoseRecordFailsLeavesNoApprovalOpen() {
        String tenant = "tfail-" + UUID.randomUUID().toString().substring(0, 8);
        tenantWithAgent(tenant);
        // The real database fails the STEP_UP's decision record, after the approval row was inserted in the same
        // transaction (a trigger of the schema owner stands in for a database failing at that moment).
        asOwner().sql("""
                create or replace function h16_fail_step_up_record() returns trigger language plpgsql as $$
                begin
                    if new.tenant_id like 'tfail-%' and new.outcome = 'STEP_UP' then
                        raise exception 'injected failure of the STEP_UP record';
                    end if;
                    return new;
                end $$""").update();
        asOwner().sql("create trigger h16_fail_step_up_record before insert on decision_record"
                + " for each row execute function h16_fail_step_up_record()").update();
        try {
            Api.Answer answer = api().post("/v1/decisions", TestJwts.token("gw-1", tenant, "decide"), delete(tenant));
            assertThat(answer.status()).isEqualTo(503);
            assertThat(answer.text("decision")).isEqualTo("DENY");
        } finally {
            asOwner().sql("drop trigger h16_fail_step_up_record on decision_record").update();
            asOwner().sql("drop function h16_fail_step_up_record()").update();
        }
        assertThat(jdbc.sql("select count(*) from approval where tenant_id = ?").param(tenant).query(Long.class).single()).isZero();
        assertThat(jdbc.sql("select count(*) from approval_event where tenant_id = ?").param(tenant).query(Long.class).single()).isZero();
        Api.Answer queue = api().get("/v1/approvals", TestJwts.token("bob", tenant, "approver"));
        assertThat(queue.json().path("total").asLong()).isZero();
        // The database is fine again: the same STEP_UP opens its request.
        assertThat(decide(tenant, "gw-1", delete(tenant)).text("outcome")).isEqualTo("STEP_UP");
    }

    @Test
    void aStepUpFloodIsRefusedRecordedAndLeavesTheApproversQueueBounded() {
        String tenant = tenantWithAgent(IntegrationTest.newTenant());
        jdbc.sql("insert into agent (tenant_id, agent_id, owner, allowed_tools, home_systems, spiffe_ids) values (?, 'agent-8', 'alice', ?, ?, ?)")
                .params(tenant, new String[] {"crm.contacts.delete"}, new String[] {"crm"}, new String[] {TestSvids.WORKLOAD_A}).update();
        io.agentpdp.support.IntegrationTest.bindAgents(jdbc, tenant, "agent-8");
        List<Api.Answer> answers = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            answers.add(decide(tenant, "gw-flood", with(delete(tenant), "arguments", Map.of("contact", i))));
        }
        // Per agent: 5 requests opened, the rest refused as approval_rate_limited.
        assertThat(answers.stream().filter(a -> "STEP_UP".equals(a.text("outcome"))).count()).isEqualTo(5);
        List<Api.Answer> refused = answers.stream().filter(a -> "DENY".equals(a.text("outcome"))).toList();
        assertThat(refused).hasSize(15).allSatisfy(a -> assertThat(reasons(a)).containsExactly("approval_rate_limited"));
        // Each refusal is recorded.
        for (Api.Answer a : refused) {
            assertThat(api().get("/v1/decisions/" + a.text("decision_id"), TestJwts.token("gw-flood", tenant, "decide"))
                    .text("outcome")).isEqualTo("DENY");
        }
        // Per enforcement point: another agent through the same gateway gets 3 more (8 in all), then none.
        List<String> other = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            Map<String, Object> body = with(delete(tenant), "arguments", Map.of("contact", i));
            body.put("agent", IntegrationTest.agent("agent-8"));
            other.add(decide(tenant, "gw-flood", body).text("outcome"));
        }
        assertThat(other).containsExactly("STEP_UP", "STEP_UP", "STEP_UP", "DENY", "DENY", "DENY");
        // Asking again for an action already waiting takes no token: the enforcement point can still poll its request.
        assertThat(decide(tenant, "gw-flood", with(delete(tenant), "arguments", Map.of("contact", 0))).text("outcome"))
                .isEqualTo("STEP_UP");
        // The approvers' queue holds what the limits allow, and answers.
        Api.Answer queue = api().get("/v1/approvals?size=100", TestJwts.token("bob", tenant, "approver"));
        assertThat(queue.status()).isEqualTo(200);
        assertThat(queue.json().path("total").asLong()).isEqualTo(8);
        // Another enforcement point, for an agent with tokens left, is not starved by the flood.
        Map<String, Object> body = with(delete(tenant), "arguments", Map.of("contact", 99));
        body.put("agent", IntegrationTest.agent("agent-8"));
        assertThat(decide(tenant, "gw-other", body).text("outcome")).isEqualTo("STEP_UP");
    }

    // ---- helpers --------------------------------------------------------------------------------------------

    private String tenantWithAgent(String tenant) {
        jdbc.sql("insert into agent (tenant_id, agent_id, owner, allowed_tools, home_systems, spiffe_ids) values (?, 'agent-7', 'alice', ?, ?, ?)")
                .params(tenant, new String[] {"crm.contacts.delete"}, new String[] {"crm"}, new String[] {TestSvids.WORKLOAD_A}).update();
        io.agentpdp.support.IntegrationTest.bindAgents(jdbc, tenant, "agent-7");
        IntegrationTest.defaultProfile(jdbc, tenant);
        jdbc.sql("insert into tool (tenant_id, name, target_system, action_kinds, risk_tier, credential_profile, updated_by)"
                + " values (?, 'crm.contacts.delete', 'crm', array['delete'], 'high', 'test-default', 'test')").param(tenant).update();
        return tenant;
    }

    private String approvedDelete(String tenant) {
        Api.Answer stepUp = decide(tenant, "gw-1", delete(tenant));
        assertThat(stepUp.text("outcome")).isEqualTo("STEP_UP");
        String id = stepUp.json().path("approval").path("id").asString();
        Api.Answer approved = api().post("/v1/approvals/" + id + "/approve", TestJwts.token("bob", tenant, "approver"),
                Map.of("comment", "ok"));
        assertThat(approved.text("status")).isEqualTo("APPROVED");
        return id;
    }

    private static Map<String, Object> delete(String tenant) {
        return IntegrationTest.request(tenant, "agent-7", "crm.contacts.delete", "delete", "crm", "contacts/42", "internal");
    }

    private static Map<String, Object> withApproval(Map<String, Object> body, String id) {
        return with(body, "approval_id", id);
    }

    private static Map<String, Object> with(Map<String, Object> body, String field, Object value) {
        body.put(field, value);
        return body;
    }

    private Api.Answer decide(String tenant, String gateway, Map<String, Object> body) {
        Api.Answer answer = api().post("/v1/decisions", TestJwts.token(gateway, tenant, "decide"), body);
        assertThat(answer.status()).as(answer.body()).isEqualTo(200);
        return answer;
    }

    private Api.Answer approval(String tenant, String id) {
        return api().get("/v1/approvals/" + id, TestJwts.token("reviewer", tenant, "approver"));
    }

    private List<String> events(String id) {
        return jdbc.sql("select event from approval_event where approval_id = cast(? as uuid) order by id").param(id)
                .query(String.class).list();
    }

    private static List<String> reasons(Api.Answer answer) {
        List<String> reasons = new ArrayList<>();
        answer.json().path("reasons").forEach(n -> reasons.add(n.asString()));
        return reasons;
    }

    private static JdbcClient asOwner() {
        return JdbcClient.create(new org.springframework.jdbc.datasource.SimpleDriverDataSource(new org.postgresql.Driver(),
                STACK.postgresUrl(), STACK.ownerUser(), STACK.ownerPassword()));
    }

    private Api api() {
        return new Api(port);
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

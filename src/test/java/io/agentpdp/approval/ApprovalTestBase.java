package io.agentpdp.approval;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

import io.agentpdp.support.Api;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;

/** Shared steps of the approval tests: an agent owned by alice, called through gateway gw-1. */
abstract class ApprovalTestBase extends IntegrationTest {

    static final String GATEWAY = "gw-1";
    static final String OWNER = "alice";

    String tenantWithAgent() {
        String tenant = newTenant();
        registerAgent(tenant, "agent-7", OWNER,
                new String[] {"crm.contacts.read", "crm.contacts.delete", "payments.transfer"}, new String[] {"crm"});
        registerTool(tenant, "payments.transfer", "bank");
        return tenant;
    }

    /** The principal id the PDP records for a test token's subject (case folded: the test issuer folds case). */
    static String pid(String subject) {
        return TestJwts.ISSUER + "|" + subject.toLowerCase(java.util.Locale.ROOT);
    }

    static Map<String, Object> deleteRequest(String tenant, String resource) {
        return request(tenant, "agent-7", "crm.contacts.delete", "delete", "crm", resource, "internal");
    }

    static Map<String, Object> paymentRequest(String tenant) {
        return request(tenant, "agent-7", "payments.transfer", "payment", "bank", "accounts/1", "confidential");
    }

    static Map<String, Object> with(Map<String, Object> body, String field, Object value) {
        body.put(field, value);
        return body;
    }

    Api.Answer decide(String tenant, Map<String, Object> body) {
        Api.Answer answer = api().post("/v1/decisions", TestJwts.token(GATEWAY, tenant, "decide"), body);
        assertThat(answer.status()).as(answer.body()).isEqualTo(200);
        return answer;
    }

    /** A STEP_UP decision for {@code body}; returns the approval id it names. */
    String stepUp(String tenant, Map<String, Object> body) {
        Api.Answer answer = decide(tenant, body);
        assertThat(answer.text("outcome")).as(answer.body()).isEqualTo("STEP_UP");
        return answer.json().path("approval").path("id").asString();
    }

    Api.Answer vote(String tenant, String approvalId, String approver, String verdict, String comment) {
        return api().post("/v1/approvals/" + approvalId + "/" + verdict, TestJwts.token(approver, tenant, "approver"),
                Map.of("comment", comment));
    }

    Api.Answer approve(String tenant, String approvalId, String approver) {
        return vote(tenant, approvalId, approver, "approve", "looks right");
    }

    Api.Answer get(String tenant, String approvalId) {
        return api().get("/v1/approvals/" + approvalId, TestJwts.token("reviewer", tenant, "approver"));
    }

    String storedStatus(String approvalId) {
        return jdbc.sql("select status from approval where id = cast(? as uuid)").param(approvalId).query(String.class).single();
    }

    List<String> events(String approvalId) {
        return jdbc.sql("select event || ':' || actor from approval_event where approval_id = cast(? as uuid) order by id")
                .param(approvalId).query(String.class).list();
    }

    static List<String> reasons(Api.Answer answer) {
        List<String> reasons = new java.util.ArrayList<>();
        answer.json().path("reasons").forEach(n -> reasons.add(n.asString()));
        return reasons;
    }

    static void eventually(Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met within " + timeout);
            }
            Thread.sleep(50);
        }
    }
}

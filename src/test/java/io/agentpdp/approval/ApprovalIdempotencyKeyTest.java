package io.agentpdp.approval;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import org.junit.jupiter.api.Test;

import io.agentpdp.support.Api;
import io.agentpdp.support.TestJwts;

/**
 * DecisionRequest.idempotency_key on real OPA, OpenBao and PostgreSQL. The enforcement point controls the key; a
 * lie about it (another action's key, another agent's key) must never fetch an approval it does not already have
 * for the very same action, nor open a second request for a retried attempt.
 */
class ApprovalIdempotencyKeyTest extends ApprovalTestBase {

    private static final String KEY = "run-1:call-1:1";

    private static Map<String, Object> keyed(Map<String, Object> body, String key) {
        return with(body, "idempotency_key", key);
    }

    private long approvalsOf(String tenant, String agent) {
        return jdbc.sql("select count(*) from approval where tenant_id = ? and agent_id = ?").params(tenant, agent)
                .query(Long.class).single();
    }

    @Test
    void aRetriedStepUpWithTheSameKeyGetsTheSameApprovalAndOpensNoSecond() {
        String tenant = tenantWithAgent();
        Api.Answer first = decide(tenant, keyed(deleteRequest(tenant, "contacts/42"), KEY));
        Api.Answer retried = decide(tenant, keyed(deleteRequest(tenant, "contacts/42"), KEY));

        assertThat(first.text("outcome")).isEqualTo("STEP_UP");
        assertThat(retried.text("outcome")).isEqualTo("STEP_UP");
        String id = first.json().path("approval").path("id").asString();
        assertThat(retried.json().path("approval").path("id").asString()).isEqualTo(id);
        assertThat(retried.text("decision_id")).isNotEqualTo(first.text("decision_id"));
        assertThat(approvalsOf(tenant, "agent-7")).isEqualTo(1);
        assertThat(jdbc.sql("select idempotency_key from approval where id = cast(? as uuid)").param(id)
                .query(String.class).single()).isEqualTo(KEY);
        assertThat(events(id)).containsExactly("REQUESTED:" + pid(GATEWAY));
    }

    @Test
    void theSameKeyForAnotherActionIsDeniedRecordedAndFetchesNothing() {
        String tenant = tenantWithAgent();
        String id = stepUp(tenant, keyed(deleteRequest(tenant, "contacts/42"), KEY));

        // The lie: the key of the contacts/42 request presented for contacts/43 (or other arguments).
        Api.Answer other = decide(tenant, keyed(deleteRequest(tenant, "contacts/43"), KEY));
        Map<String, Object> otherArguments = with(deleteRequest(tenant, "contacts/42"), "arguments", Map.of("hard", true));
        Api.Answer changedArguments = decide(tenant, keyed(otherArguments, KEY));

        for (Api.Answer refused : new Api.Answer[] {other, changedArguments}) {
            assertThat(refused.text("outcome")).as(refused.body()).isEqualTo("DENY");
            assertThat(reasons(refused)).containsExactly("idempotency_key_reused");
            assertThat(refused.json().has("approval")).isFalse();
            assertThat(refused.json().has("credential")).isFalse();
            Api.Answer record = api().get("/v1/decisions/" + refused.text("decision_id"),
                    TestJwts.token(GATEWAY, tenant, "decide"));
            assertThat(record.text("outcome")).isEqualTo("DENY");
            assertThat(reasons(record)).containsExactly("idempotency_key_reused");
        }
        assertThat(approvalsOf(tenant, "agent-7")).isEqualTo(1);
        assertThat(storedStatus(id)).isEqualTo("PENDING");
        // The key still names its own action's request.
        assertThat(stepUp(tenant, keyed(deleteRequest(tenant, "contacts/42"), KEY))).isEqualTo(id);
    }

    @Test
    void anotherAgentsKeyOfTheSameTextIsIndependent() {
        String tenant = tenantWithAgent();
        registerAgent(tenant, "agent-8", OWNER, new String[] {"crm.contacts.delete"}, new String[] {"crm"});
        String mine = stepUp(tenant, keyed(deleteRequest(tenant, "contacts/42"), KEY));

        Map<String, Object> theirs = request(tenant, "agent-8", "crm.contacts.delete", "delete", "crm", "contacts/43",
                "internal");
        String theirsId = stepUp(tenant, keyed(theirs, KEY));
        Map<String, Object> sameTarget = request(tenant, "agent-8", "crm.contacts.delete", "delete", "crm", "contacts/42",
                "internal");
        Api.Answer sameTargetAnswer = decide(tenant, keyed(sameTarget, "run-1:call-2:1"));

        assertThat(theirsId).isNotEqualTo(mine);
        assertThat(sameTargetAnswer.text("outcome")).isEqualTo("STEP_UP");
        assertThat(sameTargetAnswer.json().path("approval").path("id").asString()).isNotIn(mine, theirsId);
        assertThat(approvalsOf(tenant, "agent-7")).isEqualTo(1);
        assertThat(approvalsOf(tenant, "agent-8")).isEqualTo(2);
        // Agent-7's key still names agent-7's request only.
        assertThat(stepUp(tenant, keyed(deleteRequest(tenant, "contacts/42"), KEY))).isEqualTo(mine);
    }

    @Test
    void aKeyIsFreeAgainOnceItsApprovalIsSpent() {
        String tenant = tenantWithAgent();
        String id = stepUp(tenant, keyed(deleteRequest(tenant, "contacts/42"), KEY));
        assertThat(approve(tenant, id, "bob").status()).isEqualTo(200);
        Api.Answer allowed = decide(tenant, keyed(with(deleteRequest(tenant, "contacts/42"), "approval_id", id), KEY));
        assertThat(allowed.text("outcome")).as(allowed.body()).isEqualTo("ALLOW");

        String next = stepUp(tenant, keyed(deleteRequest(tenant, "contacts/43"), KEY));
        assertThat(next).isNotEqualTo(id);
        assertThat(storedStatus(id)).isEqualTo("CONSUMED");
    }

    @Test
    void aKeyThatIsNoBoundedAsciiIdentifierIsRefused() {
        String tenant = tenantWithAgent();
        for (String key : new String[] {"x".repeat(129), "run 1", "ключ", "-leading"}) {
            Api.Answer refused = api().post("/v1/decisions", TestJwts.token(GATEWAY, tenant, "decide"),
                    keyed(deleteRequest(tenant, "contacts/42"), key));
            assertThat(refused.status()).as(key).isEqualTo(400);
            assertThat(refused.text("decision")).isEqualTo("DENY");
        }
        assertThat(approvalsOf(tenant, "agent-7")).isZero();
    }
}

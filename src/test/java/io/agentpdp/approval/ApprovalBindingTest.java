package io.agentpdp.approval;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.agentpdp.support.Api;
import io.agentpdp.support.TestJwts;
import tools.jackson.databind.JsonNode;

/**
 * Issue 16 attacked as an adversary would: an approval binds the call's arguments exactly (RFC 8785), the
 * approvers see what they approve, and separation of duties holds against case variants of the same principal
 * (the test issuer folds case, as configured in IntegrationTest).
 */
class ApprovalBindingTest extends ApprovalTestBase {

    private static Map<String, Object> payment(String tenant, Object amount) {
        Map<String, Object> arguments = new LinkedHashMap<>();
        arguments.put("amount", amount);
        arguments.put("currency", "EUR");
        arguments.put("to", Map.of("iban", "DE89370400440532013000", "name", "Landlord"));
        return with(paymentRequest(tenant), "arguments", arguments);
    }

    @Test
    void aTwoOfTwoApprovalForTenIsNeverSpentOnTenThousand() {
        String tenant = tenantWithAgent();
        String id = stepUp(tenant, payment(tenant, 10));
        approve(tenant, id, "bob");
        assertThat(approve(tenant, id, "carol").text("status")).isEqualTo("APPROVED");

        Api.Answer attack = decide(tenant, with(payment(tenant, 10000), "approval_id", id));
        assertThat(attack.text("outcome")).isEqualTo("DENY");
        assertThat(reasons(attack)).contains("approval_invalid", "approval_mismatch");
        assertThat(attack.json().has("credential")).isFalse();
        assertThat(storedStatus(id)).isEqualTo("APPROVED");

        // The same amount, spelled differently and with the keys in another order, is the approved action.
        Map<String, Object> respelled = paymentRequest(tenant);
        Map<String, Object> arguments = new LinkedHashMap<>();
        arguments.put("to", Map.of("name", "Landlord", "iban", "DE89370400440532013000"));
        arguments.put("currency", "EUR");
        arguments.put("amount", new java.math.BigDecimal("10.00"));
        respelled.put("arguments", arguments);
        Api.Answer allowed = decide(tenant, with(respelled, "approval_id", id));
        assertThat(allowed.text("outcome")).as(allowed.body()).isEqualTo("ALLOW");
    }

    @Test
    void anApprovalIsBoundToTheTaskIntent() {
        String tenant = tenantWithAgent();
        String id = stepUp(tenant, payment(tenant, 10));
        approve(tenant, id, "bob");
        approve(tenant, id, "carol");
        Map<String, Object> otherIntent = with(payment(tenant, 10), "task",
                Map.of("id", "task-1", "intent", "pay the attacker", "chain_depth", 0));
        assertThat(reasons(decide(tenant, with(otherIntent, "approval_id", id)))).contains("approval_mismatch");
    }

    @Test
    void argumentsInsideContextAreRefusedSoNothingUnboundReachesPolicy() {
        String tenant = tenantWithAgent();
        Api.Answer refused = api().post("/v1/decisions", TestJwts.token(GATEWAY, tenant, "decide"),
                with(paymentRequest(tenant), "context", Map.of("arguments", Map.of("amount", 10))));
        assertThat(refused.status()).isEqualTo(400);
        assertThat(refused.body()).contains("context.arguments");
    }

    @Test
    void numbersADoubleCannotHoldExactlyAreRefused() {
        String tenant = tenantWithAgent();
        String body = "{\"tenant\":\"" + tenant + "\",\"agent\":{\"id\":\"agent-7\"},\"task\":{\"id\":\"task-1\",\"intent\":\"pay\","
                + "\"chain_depth\":0},\"tool\":\"payments.transfer\",\"action\":\"payment\",\"target\":{\"system\":\"bank\","
                + "\"resource\":\"accounts/1\"},\"data_classification\":\"confidential\",\"arguments\":{\"amount\":9007199254740993}}";
        Api.Answer refused = api().postRaw("/v1/decisions", TestJwts.token(GATEWAY, tenant, "decide"), "application/json",
                java.net.http.HttpRequest.BodyPublishers.ofString(body));
        assertThat(refused.status()).isEqualTo(400);
        assertThat(refused.body()).contains("arguments/amount");
        // The refusal is recorded (request_refused) like any bad request.
        assertThat(refused.text("decision_id")).isNotBlank();
    }

    @Test
    void argumentsAreCheckedAgainstTheRegisteredSchemaAndSensitiveFieldsNeverShown() {
        String tenant = tenantWithAgent();
        asOwner().sql("update tool set argument_schema = ?, version = version + 1 where tenant_id = ? and name = 'payments.transfer'")
                .params("""
                        {"type": "object", "required": ["amount", "currency", "to"], "additionalProperties": false,
                         "properties": {"amount": {"type": "number", "exclusiveMinimum": 0, "maximum": 100000},
                                        "currency": {"enum": ["EUR", "USD"]},
                                        "to": {"type": "object", "properties": {"iban": {"type": "string", "x-sensitive": true},
                                                                                "name": {"type": "string"}}}}}""", tenant)
                .update();
        Api.Answer invalid = api().post("/v1/decisions", TestJwts.token(GATEWAY, tenant, "decide"), payment(tenant, -5));
        assertThat(invalid.status()).isEqualTo(400);
        assertThat(invalid.body()).contains("payments.transfer", "amount");

        String id = stepUp(tenant, payment(tenant, 10));
        JsonNode view = get(tenant, id).json();
        assertThat(view.path("tool_schema_version").asString()).isNotBlank();
        assertThat(view.path("arguments").path("to").path("iban").asString()).isEqualTo("[redacted]");
        assertThat(view.path("arguments").path("to").path("name").asString()).isEqualTo("Landlord");
        assertThat(view.toString()).doesNotContain("DE89370400440532013000");
        // A new schema version invalidates the approval given under the old one.
        approve(tenant, id, "bob");
        approve(tenant, id, "carol");
        asOwner().sql("update tool set version = version + 1 where tenant_id = ? and name = 'payments.transfer'").param(tenant).update();
        assertThat(reasons(decide(tenant, with(payment(tenant, 10), "approval_id", id)))).contains("approval_mismatch");
    }

    @Test
    void approversSeeWhatTheyApprove() {
        String tenant = tenantWithAgent();
        String id = stepUp(tenant, payment(tenant, 10));
        approve(tenant, id, "bob");
        JsonNode view = get(tenant, id).json();
        assertThat(view.path("agent_id").asString()).isEqualTo("agent-7");
        assertThat(view.path("agent_owner").asString()).isEqualTo(pid(OWNER));
        assertThat(view.path("requested_by").asString()).isEqualTo(pid(GATEWAY));
        assertThat(view.path("task_intent").asString()).isNotBlank();
        assertThat(view.path("tool").asString()).isEqualTo("payments.transfer");
        assertThat(view.path("action").asString()).isEqualTo("payment");
        assertThat(view.path("target").path("system").asString()).isEqualTo("bank");
        assertThat(view.path("target").path("resource").asString()).isEqualTo("accounts/1");
        assertThat(view.path("classification").asString()).isEqualTo("confidential");
        assertThat(view.path("arguments").path("amount").asInt()).isEqualTo(10);
        assertThat(view.path("arguments").path("to").path("name").asString()).isEqualTo("Landlord");
        assertThat(view.path("policy_reasons").isArray()).isTrue();
        assertThat(view.path("policy_reasons").size()).isPositive();
        assertThat(view.path("required_approvals").asInt()).isEqualTo(2);
        assertThat(view.path("approvals_so_far").asInt()).isEqualTo(1);
        assertThat(view.path("expires_at").asString()).isNotBlank();
        // The list shows the same to an approver choosing what to look at.
        JsonNode listed = api().get("/v1/approvals", TestJwts.token("reviewer", tenant, "approver")).json().path("items").path(0);
        assertThat(listed.path("arguments").path("amount").asInt()).isEqualTo(10);
        assertThat(listed.path("approvals_so_far").asInt()).isEqualTo(1);
    }

    @Test
    void theOwnerCannotApproveHerOwnAgentAsAliceInCapitals() {
        String tenant = tenantWithAgent(); // owned by alice
        String id = stepUp(tenant, payment(tenant, 10));
        assertThat(approve(tenant, id, "Alice").status()).isEqualTo(403);
        assertThat(approve(tenant, id, "ALICE").status()).isEqualTo(403);
        assertThat(approve(tenant, id, "bob").status()).isEqualTo(200);
        assertThat(storedStatus(id)).isEqualTo("PENDING");
    }

    @Test
    void theRequesterCannotVoteAsGwDemoInCapitals() {
        String tenant = tenantWithAgent();
        Api.Answer stepUp = api().post("/v1/decisions", TestJwts.token("gw-demo", tenant, "decide"), payment(tenant, 10));
        String id = stepUp.json().path("approval").path("id").asString();
        assertThat(approve(tenant, id, "GW-DEMO").status()).isEqualTo(403);
        approve(tenant, id, "bob");
        assertThat(storedStatus(id)).isEqualTo("PENDING");
    }

    @Test
    void oneApproverUnderTwoSpellingsCountsOnce() {
        String tenant = tenantWithAgent();
        String id = stepUp(tenant, payment(tenant, 10));
        assertThat(approve(tenant, id, "bob").status()).isEqualTo(200);
        assertThat(approve(tenant, id, "Bob").status()).isEqualTo(409);
        assertThat(approve(tenant, id, "BOB").status()).isEqualTo(409);
        assertThat(storedStatus(id)).isEqualTo("PENDING");
    }
}

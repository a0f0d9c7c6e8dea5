package io.agentpdp.decision;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import io.agentpdp.support.Api;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;
import tools.jackson.databind.JsonNode;

/**
 * Per-task credential reuse on the real stack: a request that names the credential its task already holds
 * gets that credential confirmed (no Vault call, no secret in the answer) only where policy allows and only
 * for exactly that agent, task and grant; everything else mints as before.
 */
class CredentialReuseTest extends IntegrationTest {

    private String tenantWithAgents() {
        String tenant = newTenant();
        String[] tools = {"crm.contacts.read", "crm.contacts.update"};
        registerAgent(tenant, "agent-7", "alice", tools, new String[] {"crm"});
        registerAgent(tenant, "agent-8", "alice", tools, new String[] {"crm"});
        // The update tool's credentials follow another profile (crm-write): a held write credential is another grant.
        jdbc.sql("insert into credential_profile (tenant_id, name, kind, policies, max_ttl_seconds, max_uses, updated_by)"
                + " values (?, 'crm-writer', 'token', array['crm-write'], 3600, 100, 'test')").param(tenant).update();
        jdbc.sql("update tool set credential_profile = 'crm-writer' where tenant_id = ? and name = 'crm.contacts.update'")
                .param(tenant).update();
        return tenant;
    }

    private Api.Answer decide(String tenant, Map<String, Object> body) {
        Api.Answer answer = api().post("/v1/decisions", TestJwts.token("gw-1", tenant, "decide"), body);
        assertThat(answer.status()).as(answer.body()).isEqualTo(200);
        return answer;
    }

    private static Map<String, Object> read(String tenant) {
        return request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/1", "internal");
    }

    private static Map<String, Object> holding(Map<String, Object> body, Object decisionId) {
        Map<String, Object> copy = new HashMap<>(body);
        copy.put("held_credential", Map.of("decision_id", decisionId.toString()));
        return copy;
    }

    private static Map<String, Object> inTask(Map<String, Object> body, String task) {
        Map<String, Object> copy = new HashMap<>(body);
        copy.put("task", Map.of("id", task, "intent", "help the customer"));
        return copy;
    }

    private long credentialsIssued(String tenant) {
        return jdbc.sql("select count(*) from issued_credential where tenant_id = ?").param(tenant).query(Long.class).single();
    }

    private static void assertMinted(Api.Answer answer) {
        JsonNode credential = answer.json().path("credential");
        assertThat(credential.path("type").asString()).as(answer.body()).isEqualTo("wrapped_token");
        assertThat(credential.path("token").asString()).isNotBlank();
        assertThat(credential.has("reused_decision_id")).isFalse();
    }

    @Test
    void aHeldCredentialOfTheSameTaskIsConfirmedWithoutMintingOrSecret() {
        String tenant = tenantWithAgents();
        Api.Answer first = decide(tenant, read(tenant));
        assertMinted(first);
        String issuing = first.text("decision_id");

        Api.Answer second = decide(tenant, holding(read(tenant), issuing));

        assertThat(second.text("outcome")).isEqualTo("ALLOW");
        JsonNode credential = second.json().path("credential");
        assertThat(credential.path("type").asString()).isEqualTo("reuse");
        assertThat(credential.path("reused_decision_id").asString()).isEqualTo(issuing);
        assertThat(credential.has("token")).isFalse();
        assertThat(credential.path("expires_at").asString()).isEqualTo(first.json().path("credential").path("expires_at").asString());
        assertThat(credential.path("ttl_seconds").asLong()).isBetween(1L, 300L);
        assertThat(credential.path("num_uses").asInt()).isEqualTo(10);
        assertThat(credential.path("policies").toString()).isEqualTo("[\"" + defaultPolicy(tenant) + "\"]");
        assertThat(second.body()).doesNotContain(first.json().path("credential").path("token").asString());
        // Nothing new was minted or tracked for revocation.
        assertThat(credentialsIssued(tenant)).isEqualTo(1);

        // The record says which credential the decision confirmed; the hash chain covers it.
        String token = TestJwts.token("auditor", tenant, "security-admin");
        JsonNode stored = api().get("/v1/decisions/" + second.text("decision_id"), token).json().path("credential");
        JsonNode original = api().get("/v1/decisions/" + issuing, token).json().path("credential");
        assertThat(stored.path("reused_from_decision_id").asString()).isEqualTo(issuing);
        assertThat(stored.path("accessor_hash").asString()).isEqualTo(original.path("accessor_hash").asString());
        assertThat(original.path("reused_from_decision_id").isNull()).isTrue();
        Api.Answer chain = verifyLinked(tenant);
        assertThat(chain.json().path("valid").asBoolean()).as(chain.body()).isTrue();
        assertThat(chain.json().path("records_checked").asLong()).isEqualTo(2);

        // A confirmed credential can be confirmed again: the task keeps pointing at the issuing decision.
        Api.Answer third = decide(tenant, holding(read(tenant), issuing));
        assertThat(third.json().path("credential").path("type").asString()).isEqualTo("reuse");
        assertThat(credentialsIssued(tenant)).isEqualTo(1);
    }

    @Test
    void aCredentialOfAnotherTaskAgentOrTenantOrNoneAtAllIsNotReused() {
        String tenant = tenantWithAgents();
        String issuing = decide(tenant, read(tenant)).text("decision_id");

        assertMinted(decide(tenant, holding(inTask(read(tenant), "task-2"), issuing)));
        Map<String, Object> otherAgent = request(tenant, "agent-8", "crm.contacts.read", "read", "crm", "contacts/1", "internal");
        assertMinted(decide(tenant, holding(otherAgent, issuing)));
        assertMinted(decide(tenant, holding(read(tenant), UUID.randomUUID())));

        String otherTenant = tenantWithAgents();
        assertMinted(decide(otherTenant, holding(read(otherTenant), issuing)));
    }

    @Test
    void aRevokedOrNearlyExpiredCredentialIsNotReused() {
        String tenant = tenantWithAgents();
        String revoked = decide(tenant, read(tenant)).text("decision_id");
        jdbc.sql("update issued_credential set revoke_requested_at = now() where decision_id = cast(? as uuid)").param(revoked).update();
        assertMinted(decide(tenant, holding(read(tenant), revoked)));

        String nearlyExpired = decide(tenant, read(tenant)).text("decision_id");
        // The application never changes an expiry (its role may not): the owner plays the passing of time.
        asOwner().sql("update issued_credential set expires_at = now() + interval '10 seconds' where decision_id = cast(? as uuid)")
                .param(nearlyExpired).update();
        assertMinted(decide(tenant, holding(read(tenant), nearlyExpired)));
    }

    @Test
    void singleUseGrantsAndApprovalBoundCredentialsAreNeverReused() {
        String tenant = tenantWithAgents();
        Map<String, Object> write = request(tenant, "agent-7", "crm.contacts.update", "write", "crm", "contacts/1", "internal");
        Api.Answer firstWrite = decide(tenant, write);
        assertMinted(firstWrite);
        assertMinted(decide(tenant, holding(write, firstWrite.text("decision_id"))));

        // A read holding the credential of another grant (the write's: profile crm-writer) is not that grant.
        assertMinted(decide(tenant, holding(read(tenant), firstWrite.text("decision_id"))));

        // A restricted read needs a human; the approved ALLOW's credential is single-purpose.
        Map<String, Object> restricted = request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/9", "restricted");
        Api.Answer stepUp = decide(tenant, restricted);
        assertThat(stepUp.text("outcome")).isEqualTo("STEP_UP");
        String approvalId = stepUp.json().path("approval").path("id").asString();
        assertThat(api().post("/v1/approvals/" + approvalId + "/approve", TestJwts.token("bob", tenant, "approver"),
                Map.of("comment", "fine")).status()).isEqualTo(200);
        Map<String, Object> approved = new HashMap<>(restricted);
        approved.put("approval_id", approvalId);
        Api.Answer granted = decide(tenant, approved);
        assertThat(granted.text("outcome")).as(granted.body()).isEqualTo("ALLOW");
        assertMinted(granted);
        Boolean reusable = jdbc.sql("select reusable from issued_credential where decision_id = cast(? as uuid)")
                .param(granted.text("decision_id")).query(Boolean.class).single();
        assertThat(reusable).isFalse();
        assertMinted(decide(tenant, holding(read(tenant), granted.text("decision_id"))));
    }

    @Test
    void aDenyNamingAHeldCredentialConfirmsNothing() {
        String tenant = tenantWithAgents();
        String issuing = decide(tenant, read(tenant)).text("decision_id");
        // A depth of 6 claimed without a parent: DENY chain_mismatch (the derived depth is 0).
        Map<String, Object> tooDeep = holding(read(tenant), issuing);
        tooDeep.put("task", Map.of("id", "task-1", "intent", "help the customer", "chain_depth", 6));
        Api.Answer denied = decide(tenant, tooDeep);
        assertThat(denied.text("outcome")).isEqualTo("DENY");
        assertThat(denied.json().has("credential")).isFalse();
    }

    @Test
    void aMalformedHeldCredentialIsBadInput() {
        String tenant = tenantWithAgents();
        String decide = TestJwts.token("gw-1", tenant, "decide");
        for (Object held : new Object[] {Map.of(), Map.of("decision_id", "not-a-uuid"),
                Map.of("decision_id", UUID.randomUUID().toString(), "token", "s.secret"), "d-1"}) {
            Map<String, Object> body = new HashMap<>(read(tenant));
            body.put("held_credential", held);
            Api.Answer answer = api().post("/v1/decisions", decide, body);
            assertThat(answer.status()).as(held.toString()).isEqualTo(400);
            assertThat(answer.contentType()).startsWith("application/problem+json");
            assertThat(answer.text("decision")).isEqualTo("DENY");
        }
    }
}

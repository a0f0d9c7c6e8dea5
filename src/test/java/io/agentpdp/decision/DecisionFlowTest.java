package io.agentpdp.decision;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.agentpdp.support.Api;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;
import io.agentpdp.support.VaultProbe;
import tools.jackson.databind.JsonNode;

/** POST /v1/decisions end to end on real OPA, OpenBao and PostgreSQL. */
class DecisionFlowTest extends IntegrationTest {

    private final VaultProbe vault = new VaultProbe(STACK.vaultUrl());

    private String tenantWithAgent() {
        String tenant = newTenant();
        registerAgent(tenant, "agent-7", "alice", new String[] {"crm.contacts.read", "crm.contacts.update", "crm.contacts.delete"},
                new String[] {"crm"});
        return tenant;
    }

    @Test
    void lowRiskReadIsAllowedWithAWrappedTokenThatWorksAsDecided() {
        String tenant = tenantWithAgent();
        Api.Answer answer = api().post("/v1/decisions", TestJwts.token("gw-1", tenant, "decide"),
                request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/42", "internal"));

        assertThat(answer.status()).isEqualTo(200);
        assertThat(answer.text("outcome")).isEqualTo("ALLOW");
        assertThat(answer.json().path("reasons").toString()).contains("low_risk_read");
        assertThat(answer.text("policy_revision")).isNotBlank().isNotEqualTo("unknown");
        JsonNode credential = answer.json().path("credential");
        assertThat(credential.path("type").asString()).isEqualTo("wrapped_token");

        String token = vault.unwrap(credential.path("token").asString());
        VaultProbe.Reply self = vault.lookupSelf(token);
        assertThat(self.status()).isEqualTo(200);
        JsonNode data = self.json().path("data");
        assertThat(data.path("policies").toString()).contains(defaultPolicy(tenant));
        // lookup-self is itself one use of the token.
        assertThat(data.path("num_uses").asInt()).isEqualTo(credential.path("num_uses").asInt() - 1);
        assertThat(data.path("ttl").asLong()).isPositive().isLessThanOrEqualTo(credential.path("ttl_seconds").asLong());
        assertThat(data.path("meta").path("tenant").asString()).isEqualTo(tenant);
        assertThat(data.path("meta").path("agent").asString()).isEqualTo("agent-7");
        assertThat(data.path("meta").path("task").asString()).isEqualTo("task-1");
        assertThat(data.path("meta").path("decision").asString()).isEqualTo(answer.text("decision_id"));
        assertThat(data.path("orphan").asBoolean()).isTrue();

        // The wrapping token is single use.
        assertThat(vault.call("POST", "sys/wrapping/unwrap", credential.path("token").asString(), "{}").status()).isEqualTo(400);
    }

    @Test
    void theDecisionIsRecordedWithTheAccessorButNeverTheToken() {
        String tenant = tenantWithAgent();
        String decide = TestJwts.token("gw-1", tenant, "decide");
        Api.Answer answer = api().post("/v1/decisions", decide,
                request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/42", "public"));
        String id = answer.text("decision_id");
        String wrapToken = answer.json().path("credential").path("token").asString();

        Api.Answer stored = api().get("/v1/decisions/" + id, decide);
        assertThat(stored.status()).isEqualTo(200);
        assertThat(stored.text("outcome")).isEqualTo("ALLOW");
        assertThat(stored.text("caller")).isEqualTo("gw-1");
        assertThat(stored.json().path("credential").path("accessor_hash").asString()).hasSize(64);
        assertThat(stored.body()).doesNotContain(wrapToken);

        String accessor = jdbc.sql("select accessor from issued_credential where decision_id = cast(? as uuid)")
                .param(id).query(String.class).single();
        assertThat(accessor).isNotBlank();
        String unwrapped = vault.unwrap(wrapToken);
        Long leaks = jdbc.sql("select count(*) from decision_record where cast(decision_record.* as text) like ?")
                .param("%" + unwrapped + "%").query(Long.class).single();
        assertThat(leaks).isZero();

        // Another tenant cannot see it.
        String other = newTenant();
        assertThat(api().get("/v1/decisions/" + id, TestJwts.token("gw-2", other, "decide")).status()).isEqualTo(404);
    }

    @Test
    void toolOutsideTheManifestIsDenied() {
        String tenant = tenantWithAgent();
        Api.Answer answer = api().post("/v1/decisions", TestJwts.token("gw-1", tenant, "decide"),
                request(tenant, "agent-7", "payments.transfer", "read", "crm", "contacts/42", "internal"));
        assertThat(answer.text("outcome")).isEqualTo("DENY");
        assertThat(answer.json().path("reasons").toString()).contains("tool_not_in_manifest");
        assertThat(answer.json().has("credential")).isFalse();
    }

    @Test
    void deleteNeedsAHumanAndGetsNoCredential() {
        String tenant = tenantWithAgent();
        Api.Answer answer = api().post("/v1/decisions", TestJwts.token("gw-1", tenant, "decide"),
                request(tenant, "agent-7", "crm.contacts.delete", "delete", "crm", "contacts/42", "internal"));
        assertThat(answer.text("outcome")).isEqualTo("STEP_UP");
        assertThat(answer.json().path("reasons").toString()).contains("high_risk_action");
        assertThat(answer.json().has("credential")).isFalse();
    }

    @Test
    void theStoredClassificationWinsOverALowerDeclaredOne() {
        String tenant = tenantWithAgent();
        classify(tenant, "crm", "contacts/" + tenant + "/vip", "confidential");
        Api.Answer answer = api().post("/v1/decisions", TestJwts.token("gw-1", tenant, "decide"),
                request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/" + tenant + "/vip/1", "internal"));
        assertThat(answer.text("outcome")).isEqualTo("CONSTRAIN");
        assertThat(answer.json().path("obligations").toString()).contains("redact_pii");
        assertThat(answer.json().path("credential").path("num_uses").asInt()).isEqualTo(5);

        Api.Answer stored = api().get("/v1/decisions/" + answer.text("decision_id"), TestJwts.token("gw-1", tenant, "decide"));
        assertThat(stored.json().path("classification").path("declared").asString()).isEqualTo("internal");
        assertThat(stored.json().path("classification").path("stored").asString()).isEqualTo("confidential");
        assertThat(stored.json().path("classification").path("effective").asString()).isEqualTo("confidential");
    }

    @Test
    void restrictedDataNeedsAHuman() {
        String tenant = tenantWithAgent();
        classify(tenant, "crm", "contacts/" + tenant, "restricted");
        Api.Answer answer = api().post("/v1/decisions", TestJwts.token("gw-1", tenant, "decide"),
                request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/" + tenant + "/1", "confidential"));
        assertThat(answer.text("outcome")).isEqualTo("STEP_UP");
        assertThat(answer.json().path("reasons").toString()).contains("restricted_data");
    }

    @Test
    void declaringDataFarBelowItsStoredClassificationIsDeniedAsEscalation() {
        String tenant = tenantWithAgent();
        classify(tenant, "crm", "contacts/" + tenant, "restricted");
        Api.Answer answer = api().post("/v1/decisions", TestJwts.token("gw-1", tenant, "decide"),
                request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/" + tenant + "/1", "public"));
        assertThat(answer.text("outcome")).isEqualTo("DENY");
        assertThat(answer.json().path("reasons").toString()).contains("classification_escalation");
    }

    @Test
    void chainsDeeperThanTheLimitAreDenied() {
        String tenant = tenantWithAgent();
        Map<String, Object> body = request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/1", "internal");
        String token = TestJwts.token("gw-1", tenant, "decide");
        // The depth is derived from the parents' records: five links are within the default limit of 5, the sixth is not.
        Api.Answer answer = api().post("/v1/decisions", token, childOf(body, decideChain(token, body, 5)));
        assertThat(answer.text("outcome")).isEqualTo("DENY");
        assertThat(answer.json().path("reasons").toString()).contains("chain_depth_exceeded");
    }

    @Test
    void anUnknownAgentIsDenied() {
        String tenant = newTenant();
        bindAgents(tenant, "nobody");
        Api.Answer answer = api().post("/v1/decisions", TestJwts.token("gw-1", tenant, "decide"),
                request(tenant, "nobody", "crm.contacts.read", "read", "crm", "contacts/1", "public"));
        assertThat(answer.text("outcome")).isEqualTo("DENY");
        assertThat(answer.json().path("reasons").toString()).contains("unknown_agent");
    }

    @Test
    void aQuarantinedAgentIsDeniedWithoutAskingForACredential() {
        String tenant = tenantWithAgent();
        jdbc.sql("insert into quarantine (tenant_id, agent_id, active, reason, changed_by) values (?, 'agent-7', true, 'test', 'sec')")
                .param(tenant).update();
        Api.Answer answer = api().post("/v1/decisions", TestJwts.token("gw-1", tenant, "decide"),
                request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/1", "public"));
        assertThat(answer.text("outcome")).isEqualTo("DENY");
        assertThat(answer.json().path("reasons").toString()).isEqualTo("[\"quarantined\"]");
        assertThat(jdbc.sql("select count(*) from issued_credential where tenant_id = ?").param(tenant).query(Long.class).single()).isZero();
    }

    @Test
    void aCallerCannotDecideForAnotherTenant() {
        String tenant = tenantWithAgent();
        String attacker = newTenant();
        Api.Answer answer = api().post("/v1/decisions", TestJwts.token("gw-evil", attacker, "decide"),
                request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/1", "public"));
        assertThat(answer.status()).isEqualTo(403);
        assertThat(answer.contentType()).startsWith("application/problem+json");
        assertThat(answer.text("decision")).isEqualTo("DENY");
        // Recorded under the caller's tenant, as evidence about the caller; nothing under the victim's.
        assertThat(jdbc.sql("select reasons[1] from decision_record where tenant_id = ?").param(attacker).query(String.class).list())
                .isEqualTo(List.of("tenant_mismatch"));
        assertThat(jdbc.sql("select count(*) from decision_record where tenant_id = ?").param(tenant).query(Long.class).single()).isZero();
    }
}

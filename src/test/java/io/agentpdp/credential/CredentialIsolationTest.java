package io.agentpdp.credential;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.agentpdp.support.Api;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;
import io.agentpdp.support.VaultProbe;

/**
 * Issue 15 on the real OpenBao: a credential the PDP mints reaches only its tenant's secrets, and within the tenant
 * only what the tool's credential profile allows (only the agent's own paths where the profile is per agent). The
 * issue's attack (a demo token reading acme's db-password, then writing into acme's path) is a regression test here.
 */
class CredentialIsolationTest extends IntegrationTest {

    private final VaultProbe vault = new VaultProbe(STACK.vaultUrl());
    private String tenant;
    private String other;

    @BeforeEach
    void tenants() {
        tenant = newTenant();
        other = newTenant();
        for (String t : new String[] {tenant, other}) {
            registerAgent(t, "agent-7", "alice", new String[] {"crm.contacts.read", "crm.contacts.update", "notes.write"},
                    new String[] {"crm"});
            registerAgent(t, "agent-8", "alice", new String[] {"notes.write"}, new String[] {"crm"});
            profile(t, "crm-writer", "'token', array['crm-write'], false, 300, 10");
            profile(t, "agent-notes", "'token', array['agent-own'], true, 300, 10");
            jdbc.sql("update tool set credential_profile = 'crm-writer' where tenant_id = ? and name = 'crm.contacts.update'")
                    .param(t).update();
            jdbc.sql("update tool set credential_profile = 'agent-notes' where tenant_id = ? and name = 'notes.write'")
                    .param(t).update();
            for (String path : new String[] {"crm/contact-1", "secret/db-password", "agents/agent-7/notes", "agents/agent-8/notes"}) {
                root("POST", "secret/data/tenants/" + t + "/" + path, "{\"data\":{\"value\":\"" + t + "\"}}");
            }
        }
    }

    private void profile(String t, String name, String values) {
        jdbc.sql("insert into credential_profile (tenant_id, name, kind, policies, per_agent, max_ttl_seconds, max_uses, updated_by)"
                + " values (?, ?, " + values + ", 'test') on conflict do nothing").params(t, name).update();
    }

    private VaultProbe.Reply root(String method, String path, String body) {
        VaultProbe.Reply reply = vault.call(method, path, STACK.vaultRootToken(), body);
        assertThat(reply.status()).as(method + " " + path).isLessThan(300);
        return reply;
    }

    /** Decides for {@code agent} of {@code tenant} and unwraps the credential, as the enforcement point would. */
    private String credential(String agent, String tool, String action) {
        Api.Answer answer = api().post("/v1/decisions", TestJwts.token("gw-1", tenant, "decide"),
                request(tenant, agent, tool, action, "crm", "contacts/1", "internal"));
        assertThat(answer.text("outcome")).as(answer.body()).isEqualTo("ALLOW");
        return vault.unwrap(answer.json().path("credential").path("token").asString());
    }

    private int read(String token, String path) {
        return vault.call("GET", "secret/data/tenants/" + path, token, null).status();
    }

    private int write(String token, String path) {
        return vault.call("POST", "secret/data/tenants/" + path, token, "{\"data\":{\"value\":\"overwritten\"}}").status();
    }

    @Test
    void aReadCredentialReachesItsTenantsProfileOnlyNotAnotherTenantsSecret() {
        String token = credential("agent-7", "crm.contacts.read", "read");
        assertThat(read(token, tenant + "/crm/contact-1")).isEqualTo(200);
        // The cross-tenant read: another tenant's db-password (and its CRM) are out of reach.
        assertThat(read(token, other + "/secret/db-password")).isEqualTo(403);
        assertThat(read(token, other + "/crm/contact-1")).isEqualTo(403);
        // Within the tenant, only what the profile (crm-read) allows: not its secrets area, no writes.
        assertThat(read(token, tenant + "/secret/db-password")).isEqualTo(403);
        assertThat(write(token, tenant + "/crm/contact-1")).isEqualTo(403);
    }

    @Test
    void theActionKindDoesNotChooseThePolicies() {
        // A write through a tool whose profile is crm-read gets crm-read (single use), never a write policy.
        Api.Answer answer = api().post("/v1/decisions", TestJwts.token("gw-1", tenant, "decide"),
                request(tenant, "agent-7", "crm.contacts.read", "write", "crm", "contacts/1", "internal"));
        assertThat(answer.text("outcome")).as(answer.body()).isEqualTo("ALLOW");
        assertThat(answer.json().path("credential").path("policies").toString()).isEqualTo("[\"" + defaultPolicy(tenant) + "\"]");
        String token = vault.unwrap(answer.json().path("credential").path("token").asString());
        assertThat(write(token, tenant + "/crm/contact-1")).isEqualTo(403);
    }

    @Test
    void aWriteCredentialCannotWriteIntoAnotherTenant() {
        String token = credential("agent-7", "crm.contacts.update", "write");
        // The cross-tenant write, with the tenant's write policy.
        assertThat(write(token, other + "/crm/contact-1")).isEqualTo(403);
        assertThat(root("GET", "secret/data/tenants/" + other + "/crm/contact-1", null).json()
                .path("data").path("data").path("value").asString()).isEqualTo(other);
    }

    @Test
    void aWriteCredentialWritesItsOwnTenant() {
        String token = credential("agent-7", "crm.contacts.update", "write");
        assertThat(write(token, tenant + "/crm/contact-1")).isEqualTo(200);
    }

    @Test
    void aPerAgentCredentialReachesOnlyThatAgentsPaths() {
        String token = credential("agent-7", "notes.write", "read");
        assertThat(read(token, tenant + "/agents/agent-7/notes")).isEqualTo(200);
        String again = credential("agent-7", "notes.write", "read");
        assertThat(read(again, tenant + "/agents/agent-8/notes")).isEqualTo(403);
        String third = credential("agent-7", "notes.write", "read");
        assertThat(read(third, other + "/agents/agent-7/notes")).isEqualTo(403);
        // And agent-8's own credential reaches agent-8's paths.
        assertThat(read(credential("agent-8", "notes.write", "read"), tenant + "/agents/agent-8/notes")).isEqualTo(200);
    }

    @Test
    void theTenantsTokenRoleRefusesAnotherTenantsPoliciesAndAliases() {
        // What the PDP's own Vault token can do, whatever the PDP asked: the role is the boundary.
        VaultProbe.Reply policy = vault.call("POST", "auth/token/create/agent-pdp." + tenant, STACK.vaultPdpToken(),
                "{\"policies\":[\"tenant." + other + ".crm-read\"],\"ttl\":\"60s\"}");
        assertThat(policy.status()).isEqualTo(400);
        VaultProbe.Reply alias = vault.call("POST", "auth/token/create/agent-pdp." + tenant, STACK.vaultPdpToken(),
                "{\"policies\":[\"tenant." + tenant + ".agent-own\"],\"entity_alias\":\"" + other + "/agents/agent-7\",\"ttl\":\"60s\"}");
        assertThat(alias.status()).isEqualTo(400);
    }

    @Test
    void theProfilesCapsBoundTheGrant() {
        profile(tenant, "tight", "'token', array['crm-read'], false, 60, 2");
        jdbc.sql("update tool set credential_profile = 'tight' where tenant_id = ? and name = 'crm.contacts.read'").param(tenant).update();
        Api.Answer answer = api().post("/v1/decisions", TestJwts.token("gw-1", tenant, "decide"), lowRiskRead(tenant));
        assertThat(answer.text("outcome")).isEqualTo("ALLOW");
        assertThat(answer.json().path("credential").path("ttl_seconds").asInt()).isEqualTo(60);
        assertThat(answer.json().path("credential").path("num_uses").asInt()).isEqualTo(2);
    }

    @Test
    void aToolWithoutAProfileOrWithAnUnregisteredOneGetsNothing() {
        for (String profile : new String[] {null, "not-registered"}) {
            jdbc.sql("update tool set credential_profile = ? where tenant_id = ? and name = 'crm.contacts.read'")
                    .params(profile, tenant).update();
            Api.Answer answer = api().post("/v1/decisions", TestJwts.token("gw-1", tenant, "decide"), lowRiskRead(tenant));
            assertThat(answer.text("outcome")).as(String.valueOf(profile)).isEqualTo("DENY");
            assertThat(answer.json().path("reasons").toString()).contains("credential_profile_invalid");
            assertThat(answer.json().path("credential").isMissingNode() || answer.json().path("credential").isNull()).isTrue();
        }
    }

    @Test
    void aTenantThatCannotNameVaultObjectsIsDenied() {
        String dotted = "acme.x" + newTenant();
        registerAgent(dotted, "agent-7", "alice", new String[] {"crm.contacts.read"}, new String[] {"crm"});
        Api.Answer answer = api().post("/v1/decisions", TestJwts.token("gw-1", dotted, "decide"), lowRiskRead(dotted));
        assertThat(answer.text("outcome")).isEqualTo("DENY");
        assertThat(answer.json().path("reasons").toString()).contains("credential_profile_invalid");
    }
}

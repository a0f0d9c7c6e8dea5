package io.agentpdp.credential;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.springframework.test.context.TestPropertySource;

import io.agentpdp.support.Api;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;
import io.agentpdp.support.VaultProbe;

/** With pdp.vault.wrap=false the agent gets the token itself, still bounded as the policy decided. */
@TestPropertySource(properties = "pdp.vault.wrap=false")
class UnwrappedCredentialTest extends IntegrationTest {

    @Test
    void theTokenItselfIsReturnedAndWorks() {
        String tenant = newTenant();
        registerAgent(tenant, "agent-7", "alice", new String[] {"crm.contacts.update"}, new String[] {"crm"});
        Api.Answer answer = api().post("/v1/decisions", TestJwts.token("gw-1", tenant, "decide"),
                request(tenant, "agent-7", "crm.contacts.update", "write", "crm", "contacts/1", "internal"));

        assertThat(answer.text("outcome")).isEqualTo("ALLOW");
        assertThat(answer.json().path("credential").path("type").asString()).isEqualTo("token");
        assertThat(answer.json().path("credential").has("wrap_ttl_seconds")).isTrue();
        String token = answer.json().path("credential").path("token").asString();
        VaultProbe.Reply self = new VaultProbe(STACK.vaultUrl()).lookupSelf(token);
        assertThat(self.status()).isEqualTo(200);
        assertThat(self.json().path("data").path("policies").toString()).contains(defaultPolicy(tenant));
        // A write credential is single use: the lookup consumed it (Vault shows -1 while revoking it).
        assertThat(self.json().path("data").path("num_uses").asInt()).isLessThanOrEqualTo(0);
        assertThat(new VaultProbe(STACK.vaultUrl()).lookupSelf(token).status()).isEqualTo(403);
    }
}

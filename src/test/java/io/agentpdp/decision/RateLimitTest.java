package io.agentpdp.decision;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.springframework.test.context.TestPropertySource;

import io.agentpdp.support.Api;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;

/** Over the per-agent limit an enforcement point gets 429 DENY, never a decision or a credential; the refusal is recorded. */
@TestPropertySource(properties = {"pdp.limits.agent-per-second=0.001", "pdp.limits.agent-burst=3"})
class RateLimitTest extends IntegrationTest {

    @Test
    void overTheLimitIs429Deny() {
        String tenant = newTenant();
        registerAgent(tenant, "agent-7", "o", new String[] {"crm.contacts.read"}, new String[] {"crm"});
        String token = TestJwts.token("gw-1", tenant, "decide");
        for (int i = 0; i < 3; i++) {
            assertThat(api().post("/v1/decisions", token,
                    request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/1", "public")).text("outcome")).isEqualTo("ALLOW");
        }
        Api.Answer limited = api().post("/v1/decisions", token,
                request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/1", "public"));
        assertThat(limited.status()).isEqualTo(429);
        assertThat(limited.text("decision")).isEqualTo("DENY");
        assertThat(limited.json().has("credential")).isFalse();
        // The refusal is recorded like a decision: one DENY naming the agent, and the answer cites it.
        assertThat(jdbc.sql("select agent_id || ':' || outcome || ':' || array_to_string(reasons, ',') from decision_record"
                        + " where tenant_id = ? and id = cast(? as uuid)").params(tenant, limited.text("decision_id"))
                .query(String.class).list()).containsExactly("agent-7:DENY:request_refused,http_429");
        assertThat(jdbc.sql("select count(*) from decision_record where tenant_id = ?").param(tenant).query(Long.class).single())
                .isEqualTo(4);
        // Another agent of the tenant is unaffected.
        registerAgent(tenant, "agent-8", "o", new String[] {"crm.contacts.read"}, new String[] {"crm"});
        assertThat(api().post("/v1/decisions", token,
                request(tenant, "agent-8", "crm.contacts.read", "read", "crm", "contacts/1", "public")).text("outcome")).isEqualTo("ALLOW");
    }
}

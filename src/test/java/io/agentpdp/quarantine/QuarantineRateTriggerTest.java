package io.agentpdp.quarantine;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.springframework.test.context.TestPropertySource;

import io.agentpdp.support.Api;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;

/** An abnormal decision rate quarantines the agent (threshold lowered to 3 per minute for the test). */
@TestPropertySource(properties = "pdp.quarantine.rate-threshold=3")
class QuarantineRateTriggerTest extends IntegrationTest {

    @Test
    void anAbnormalRateQuarantinesTheAgent() {
        String tenant = newTenant();
        String decide = TestJwts.token("gw-1", tenant, "decide");
        registerAgent(tenant, "agent-7", "owner", new String[] {"crm.contacts.read"}, new String[] {"crm"});
        for (int i = 0; i < 3; i++) {
            assertThat(api().post("/v1/decisions", decide,
                    request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/1", "public")).text("outcome")).isEqualTo("ALLOW");
        }
        Api.Answer fourth = api().post("/v1/decisions", decide,
                request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/1", "public"));
        assertThat(fourth.text("outcome")).isEqualTo("DENY");
        assertThat(fourth.json().path("reasons").toString()).contains("quarantine_trigger:abnormal_rate");
        assertThat(fourth.json().has("credential")).isFalse();
        // Everything issued before the trigger was revoked by the cascade.
        assertThat(jdbc.sql("select count(*) from issued_credential where tenant_id = ? and revoked_at is null")
                .param(tenant).query(Long.class).single()).isZero();
    }

    @Test
    void anUnregisteredAgentIdIsNeverQuarantinedAndItsRecordsDoNotCountOnceRegistered() {
        String tenant = newTenant();
        String decide = TestJwts.token("gw-1", tenant, "decide");
        bindAgents(tenant, "agent-new");
        // Six DENYs in a row: over the DENY threshold (5) and the lowered rate threshold (3).
        for (int i = 0; i < 6; i++) {
            Api.Answer unknown = api().post("/v1/decisions", decide,
                    request(tenant, "agent-new", "crm.contacts.read", "read", "crm", "contacts/1", "public"));
            assertThat(unknown.text("outcome")).isEqualTo("DENY");
            assertThat(unknown.json().path("reasons").toString()).contains("unknown_agent").doesNotContain("quarantine");
        }
        assertThat(jdbc.sql("select count(*) from quarantine where tenant_id = ?").param(tenant).query(Long.class).single())
                .isZero();
        // Registered now: what was decided about the unknown id is not its history.
        registerAgent(tenant, "agent-new", "owner", new String[] {"crm.contacts.read"}, new String[] {"crm"});
        assertThat(api().post("/v1/decisions", decide,
                request(tenant, "agent-new", "crm.contacts.read", "read", "crm", "contacts/1", "public")).text("outcome"))
                .isEqualTo("ALLOW");
    }
}

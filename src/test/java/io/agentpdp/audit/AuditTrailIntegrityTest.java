package io.agentpdp.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;

import org.junit.jupiter.api.Test;

import io.agentpdp.support.Api;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;

/** The decision trail is append-only for the application and tamper-evident for everyone else. */
class AuditTrailIntegrityTest extends IntegrationTest {

    private String tenantWithDecisions(int count) throws Exception {
        String tenant = newTenant();
        registerAgent(tenant, "agent-7", "o", new String[] {"crm.contacts.read"}, new String[] {"crm"});
        String token = TestJwts.token("gw-1", tenant, "decide");
        // Concurrent writers of one tenant must still form one unbroken chain.
        try (var pool = Executors.newFixedThreadPool(8)) {
            List<Callable<Integer>> calls = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                calls.add(() -> api().post("/v1/decisions", token,
                        request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/1", "public")).status());
            }
            for (var f : pool.invokeAll(calls)) {
                assertThat(f.get()).isEqualTo(200);
            }
        }
        return tenant;
    }

    @Test
    void concurrentDecisionsFormOneValidChain() throws Exception {
        String tenant = tenantWithDecisions(40);
        Api.Answer verification = api().get("/v1/audit/verify", TestJwts.token("sec", tenant, "security-admin"));
        assertThat(verification.status()).isEqualTo(200);
        assertThat(verification.json().path("valid").asBoolean()).isTrue();
        assertThat(verification.json().path("records_checked").asLong()).isEqualTo(40);
    }

    @Test
    void aTamperedRecordIsReportedAsTheFirstBrokenLink() throws Exception {
        String tenant = tenantWithDecisions(5);
        try (Connection owner = DriverManager.getConnection(STACK.postgresUrl(), STACK.ownerUser(), STACK.ownerPassword());
             Statement sql = owner.createStatement()) {
            sql.executeUpdate("update decision_record set outcome = 'ALLOW', reasons = '{forged}' where tenant_id = '"
                    + tenant + "' and chain_seq = 3");
        }
        Api.Answer verification = api().get("/v1/audit/verify", TestJwts.token("sec", tenant, "security-admin"));
        assertThat(verification.json().path("valid").asBoolean()).isFalse();
        assertThat(verification.json().path("broken_at_seq").asLong()).isEqualTo(3);
        assertThat(verification.json().path("records_checked").asLong()).isEqualTo(2);
    }

    @Test
    void aDeletedRecordIsReportedAsAMissingLink() throws Exception {
        String tenant = tenantWithDecisions(4);
        try (Connection owner = DriverManager.getConnection(STACK.postgresUrl(), STACK.ownerUser(), STACK.ownerPassword());
             Statement sql = owner.createStatement()) {
            sql.executeUpdate("delete from decision_record where tenant_id = '" + tenant + "' and chain_seq = 2");
        }
        Api.Answer verification = api().get("/v1/audit/verify", TestJwts.token("sec", tenant, "security-admin"));
        assertThat(verification.json().path("valid").asBoolean()).isFalse();
        assertThat(verification.json().path("broken_at_seq").asLong()).isEqualTo(2);
        assertThat(verification.text("problem")).contains("missing link");
    }

    @Test
    void theApplicationRoleCannotRewriteOrDeleteTheTrail() throws Exception {
        assertThat(STACK.appUser()).as("the app must run as a role other than the schema owner").isNotEqualTo(STACK.ownerUser());
        tenantWithDecisions(1);
        try (Connection app = DriverManager.getConnection(STACK.postgresUrl(), STACK.appUser(), STACK.appPassword());
             Statement sql = app.createStatement()) {
            assertThatThrownBy(() -> sql.executeUpdate("update decision_record set outcome = 'ALLOW'"))
                    .isInstanceOf(SQLException.class).hasMessageContaining("permission denied");
            assertThatThrownBy(() -> sql.executeUpdate("delete from decision_record"))
                    .isInstanceOf(SQLException.class).hasMessageContaining("permission denied");
            assertThatThrownBy(() -> sql.executeUpdate("truncate decision_record"))
                    .isInstanceOf(SQLException.class).hasMessageContaining("permission denied");
        }
    }

    @Test
    void onlySecurityAdminsVerify() {
        assertThat(api().get("/v1/audit/verify", TestJwts.token("gw", "acme", "decide")).status()).isEqualTo(403);
        assertThat(api().get("/v1/audit/verify", null).status()).isEqualTo(401);
    }
}

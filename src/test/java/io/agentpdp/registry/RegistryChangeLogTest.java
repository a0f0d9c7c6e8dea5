package io.agentpdp.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.agentpdp.support.Api;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;
import tools.jackson.databind.JsonNode;

/** Every registry change is in an append-only, hash-chained log per tenant that /v1/audit/verify checks. */
class RegistryChangeLogTest extends IntegrationTest {

    private String tenantWithThreeChanges() {
        String tenant = newTenant();
        String admin = TestJwts.token("ops-1", tenant, "registry-admin");
        assertThat(api().exchange("POST", "/v1/registry/agents", admin, Map.of(),
                RegistryApiTest.agent("agent-1", List.of("crm.contacts.read"))).answer().status()).isEqualTo(201);
        assertThat(api().exchange("PUT", "/v1/registry/agents/agent-1", TestJwts.token("ops-2", tenant, "registry-admin"),
                Map.of("If-Match", "\"1\""), RegistryApiTest.agent("agent-1", List.of("crm.contacts.update"))).answer().status())
                .isEqualTo(200);
        assertThat(api().exchange("DELETE", "/v1/registry/agents/agent-1", admin, Map.of("If-Match", "\"2\""), null)
                .answer().status()).isEqualTo(204);
        return tenant;
    }

    @Test
    void whoChangedWhatWhenFromWhatToWhatIsReadable() {
        String tenant = tenantWithThreeChanges();
        Api.Answer page = api().get("/v1/registry/changes", TestJwts.token("sec", tenant, "security-admin"));
        JsonNode items = page.json().path("items");
        assertThat(items.size()).isEqualTo(3);

        JsonNode created = items.get(0);
        assertThat(created.path("seq").asLong()).isEqualTo(1);
        assertThat(created.path("action").asString()).isEqualTo("CREATE");
        assertThat(created.path("kind").asString()).isEqualTo("agent");
        assertThat(created.path("entry_id").asString()).isEqualTo("agent-1");
        assertThat(created.path("actor").asString()).isEqualTo("ops-1");
        assertThat(created.path("before").isNull()).isTrue();
        assertThat(created.path("after").path("allowed_tools").toString()).isEqualTo("[\"crm.contacts.read\"]");

        JsonNode replaced = items.get(1);
        assertThat(replaced.path("action").asString()).isEqualTo("REPLACE");
        assertThat(replaced.path("actor").asString()).isEqualTo("ops-2");
        assertThat(replaced.path("before").path("allowed_tools").toString()).isEqualTo("[\"crm.contacts.read\"]");
        assertThat(replaced.path("after").path("allowed_tools").toString()).isEqualTo("[\"crm.contacts.update\"]");
        assertThat(replaced.path("after").path("version").asLong()).isEqualTo(2);

        JsonNode deleted = items.get(2);
        assertThat(deleted.path("action").asString()).isEqualTo("DELETE");
        assertThat(deleted.path("after").isNull()).isTrue();
        assertThat(deleted.path("before").path("version").asLong()).isEqualTo(2);

        Api.Answer second = api().get("/v1/registry/changes?after=1&limit=1", TestJwts.token("ops", tenant, "registry-admin"));
        assertThat(second.json().path("items").get(0).path("seq").asLong()).isEqualTo(2);
        assertThat(second.json().path("next_after").asString()).isEqualTo("2");
    }

    @Test
    void auditVerifyCoversTheChangeLog() {
        String tenant = tenantWithThreeChanges();
        Api.Answer verification = api().get("/v1/audit/verify", TestJwts.token("sec", tenant, "security-admin"));
        assertThat(verification.json().path("registry_changes").path("valid").asBoolean()).isTrue();
        assertThat(verification.json().path("registry_changes").path("records_checked").asLong()).isEqualTo(3);
    }

    @Test
    void aRewrittenChangeIsReportedAsTheFirstBrokenLink() throws SQLException {
        String tenant = tenantWithThreeChanges();
        try (Connection owner = DriverManager.getConnection(STACK.postgresUrl(), STACK.ownerUser(), STACK.ownerPassword());
             Statement sql = owner.createStatement()) {
            sql.executeUpdate("update registry_change set actor = 'someone-else' where tenant_id = '" + tenant + "' and seq = 2");
        }
        Api.Answer verification = api().get("/v1/audit/verify", TestJwts.token("sec", tenant, "security-admin"));
        assertThat(verification.json().path("registry_changes").path("valid").asBoolean()).isFalse();
        assertThat(verification.json().path("registry_changes").path("broken_at_seq").asLong()).isEqualTo(2);
        assertThat(verification.json().path("registry_changes").path("records_checked").asLong()).isEqualTo(1);
    }

    @Test
    void aDeletedChangeIsReportedAsAMissingLink() throws SQLException {
        String tenant = tenantWithThreeChanges();
        try (Connection owner = DriverManager.getConnection(STACK.postgresUrl(), STACK.ownerUser(), STACK.ownerPassword());
             Statement sql = owner.createStatement()) {
            sql.executeUpdate("delete from registry_change where tenant_id = '" + tenant + "' and seq = 1");
        }
        Api.Answer verification = api().get("/v1/audit/verify", TestJwts.token("sec", tenant, "security-admin"));
        assertThat(verification.json().path("registry_changes").path("valid").asBoolean()).isFalse();
        assertThat(verification.json().path("registry_changes").path("problem").asString()).contains("missing link");
    }

    @Test
    void theApplicationRoleCannotRewriteOrDeleteTheChangeLog() throws SQLException {
        String tenant = tenantWithThreeChanges();
        try (Connection app = DriverManager.getConnection(STACK.postgresUrl(), STACK.appUser(), STACK.appPassword());
             Statement sql = app.createStatement()) {
            assertThatThrownBy(() -> sql.executeUpdate("update registry_change set actor = 'x' where tenant_id = '" + tenant + "'"))
                    .isInstanceOf(SQLException.class).hasMessageContaining("permission denied");
            assertThatThrownBy(() -> sql.executeUpdate("delete from registry_change where tenant_id = '" + tenant + "'"))
                    .isInstanceOf(SQLException.class).hasMessageContaining("permission denied");
        }
    }

    @Test
    void anIdenticalReplaceRecordsNoChange() {
        String tenant = newTenant();
        String admin = TestJwts.token("ops-1", tenant, "registry-admin");
        Map<String, Object> agent = RegistryApiTest.agent("agent-1", List.of("crm.contacts.read"));
        api().exchange("POST", "/v1/registry/agents", admin, Map.of(), agent);
        api().exchange("PUT", "/v1/registry/agents/agent-1", admin, Map.of("If-Match", "\"1\""), agent);
        assertThat(api().get("/v1/registry/changes", admin).json().path("items").size()).isEqualTo(1);
    }
}

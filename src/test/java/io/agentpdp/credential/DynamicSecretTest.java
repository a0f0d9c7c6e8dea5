package io.agentpdp.credential;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.agentpdp.support.Api;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;
import io.agentpdp.support.VaultProbe;
import tools.jackson.databind.JsonNode;

/**
 * Issue 15, dynamic secrets for real: OpenBao's database engine against the stack's PostgreSQL (database
 * "targets", set up by scripts/stack/tenant-layout.sh for the reference tenants demo and acme). An ALLOW for a
 * registered db.query tool returns wrapped PostgreSQL credentials with the decided TTL that log in and read only
 * the tenant's crm schema; after the agent's quarantine the lease is revoked and the login fails.
 */
class DynamicSecretTest extends IntegrationTest {

    /** A reference tenant with the database layout (the registry rows are this test's own: a fresh agent). */
    private static final String TENANT = "acme";

    private final VaultProbe vault = new VaultProbe(STACK.vaultUrl());
    private String agent;

    @BeforeEach
    void registerDatabaseTool() {
        agent = "dyn-" + UUID.randomUUID().toString().substring(0, 8);
        registerAgent(TENANT, agent, "alice", new String[] {"db.query"}, new String[] {"crm"});
        jdbc.sql("""
                insert into credential_profile (tenant_id, name, kind, mount, role, max_ttl_seconds, updated_by)
                values (?, 'db-reader', 'dynamic', 'database', 'crm-read', 120, 'test')
                on conflict (tenant_id, name) do update set kind = 'dynamic', policies = '{}', mount = 'database',
                    role = 'crm-read', max_ttl_seconds = 120, max_uses = null, wrapped = true""")
                .param(TENANT).update();
        jdbc.sql("update tool set credential_profile = 'db-reader' where tenant_id = ? and name = 'db.query'").param(TENANT).update();
    }

    private Api.Answer query() {
        return api().post("/v1/decisions", TestJwts.token("gw-1", TENANT, "decide"),
                request(TENANT, agent, "db.query", "read", "crm", "contacts/1", "internal"));
    }

    private static String targetsUrl() {
        return STACK.postgresUrl().replaceFirst("/[^/?]+(\\?|$)", "/targets$1");
    }

    private static List<String> rows(Connection connection, String sql) throws SQLException {
        List<String> rows = new ArrayList<>();
        try (Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery(sql)) {
            while (rs.next()) {
                rows.add(rs.getString(1));
            }
        }
        return rows;
    }

    @Test
    void anAllowReturnsWrappedDatabaseCredentialsForTheTenantsSchemaOnlyAndQuarantineRevokesThem() throws Exception {
        Api.Answer answer = query();
        assertThat(answer.text("outcome")).as(answer.body()).isEqualTo("ALLOW");
        JsonNode credential = answer.json().path("credential");
        assertThat(credential.path("type").asString()).isEqualTo("wrapped_secret");
        // The decided TTL: the policy's 300 s for a low-risk read, capped by the profile's 120 s.
        assertThat(credential.path("ttl_seconds").asInt()).isEqualTo(120);
        assertThat(credential.path("policies").toString()).isEqualTo("[\"database/creds/acme.crm-read\"]");

        VaultProbe.Reply unwrapped = vault.call("POST", "sys/wrapping/unwrap", credential.path("token").asString(), "{}");
        assertThat(unwrapped.status()).isEqualTo(200);
        JsonNode data = unwrapped.json().path("data");
        String username = data.path("username").asString();
        String password = data.path("password").asString();
        assertThat(data.path("ttl_seconds").asInt()).isEqualTo(120);

        // The lease the PDP recorded has the decided TTL, not the role's default (300 s).
        String leaseId = jdbc.sql("select accessor from issued_credential where decision_id = cast(? as uuid)")
                .param(answer.text("decision_id")).query(String.class).single();
        assertThat(leaseId).startsWith("database/creds/acme.crm-read/");
        VaultProbe.Reply lease = vault.call("PUT", "sys/leases/lookup", STACK.vaultRootToken(),
                "{\"lease_id\":\"" + leaseId + "\"}");
        assertThat(lease.json().path("data").path("ttl").asInt()).isBetween(1, 120);

        try (Connection connection = DriverManager.getConnection(targetsUrl(), username, password)) {
            assertThat(rows(connection, "select name from acme_crm.contacts order by id")).containsExactly("Ada (acme)", "Grace (acme)");
            for (String forbidden : new String[] {"select count(*) from acme_billing.invoices", "select count(*) from demo_crm.contacts"}) {
                assertThatThrownBy(() -> rows(connection, forbidden)).as(forbidden)
                        .isInstanceOf(SQLException.class).hasMessageContaining("permission denied");
            }
        }
        // Not the PDP's own database either.
        assertThatThrownBy(() -> DriverManager.getConnection(STACK.postgresUrl(), username, password).close())
                .isInstanceOf(SQLException.class);

        Api.Answer quarantined = api().post("/v1/agents/" + agent + "/quarantine", TestJwts.token("sec-1", TENANT, "security-admin"),
                Map.of("reason", "test"));
        assertThat(quarantined.status()).as(quarantined.body()).isEqualTo(200);
        assertThat(quarantined.json().path("credentials_revoked").asInt()).isEqualTo(1);
        assertThat(vault.call("PUT", "sys/leases/lookup", STACK.vaultRootToken(), "{\"lease_id\":\"" + leaseId + "\"}").status())
                .isEqualTo(400);
        assertThatThrownBy(() -> DriverManager.getConnection(targetsUrl(), username, password).close())
                .isInstanceOf(SQLException.class);
    }
}

package io.agentpdp.registry;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;

import io.agentpdp.support.TestStack;

/** V9 carries the rows of the V1 model (agent manifests, global classification prefixes) into the registry. */
class RegistryMigrationTest {

    private static final TestStack.Endpoints STACK = TestStack.get();

    private static Flyway flyway(String schema, String target) {
        return Flyway.configure()
                .dataSource(STACK.postgresUrl(), STACK.ownerUser(), STACK.ownerPassword())
                .schemas(schema)
                .createSchemas(true)
                .locations("filesystem:" + TestStack.projectRoot().resolve("db/migrations"))
                .placeholders(Map.of("app_role", STACK.appUser()))
                // As the application (application.yaml): the session lock, or V32's concurrent index build waits forever.
                .configuration(Map.of("flyway.postgresql.transactional.lock", "false"))
                .target(target)
                .load();
    }

    private static final String PUBLIC_INDEXES = "select indexname from pg_indexes where schemaname = 'public' order by 1";

    @Test
    void existingAgentsAndClassificationsAreCarriedIntoTheRegistry() throws SQLException {
        String schema = "migration_" + UUID.randomUUID().toString().substring(0, 8);
        try (Connection owner = DriverManager.getConnection(STACK.postgresUrl(), STACK.ownerUser(), STACK.ownerPassword());
             Statement sql = owner.createStatement()) {
            List<String> publicIndexes = rows(sql, PUBLIC_INDEXES);
            try {
                flyway(schema, "6").migrate();
                sql.execute("set search_path to " + schema);
                sql.executeUpdate("""
                        insert into agent (tenant_id, agent_id, owner, allowed_tools, home_systems, max_chain_depth) values
                            ('t1', 'agent-7', 'alice', array['crm.contacts.read', 'payments.transfer'], array['crm'], 3),
                            ('t2', 'agent-7', 'bob', array['hr.payroll.read'], array['hr'], null)""");
                sql.executeUpdate("""
                        insert into resource_classification (owner_tenant, system, resource_prefix, classification) values
                            ('t1', 'crm', 'contacts/vip/', 'confidential'),
                            ('t2', 'hr', 'payroll', 'restricted')""");

                flyway(schema, "latest").migrate();

                assertThat(rows(sql, "select tenant_id, system, resource_prefix, level, prefix_folded from classification_rule order by tenant_id"))
                        .containsExactly("t1|crm|contacts/vip|confidential|contacts/vip", "t2|hr|payroll|restricted|payroll");
                assertThat(rows(sql, "select count(*) from pg_tables where schemaname = '" + schema + "' and tablename = 'resource_classification'"))
                        .containsExactly("0");
                assertThat(rows(sql, "select tenant_id, name, target_system, cardinality(action_kinds), risk_tier, updated_by from tool order by tenant_id, name"))
                        .containsExactly("t1|crm.contacts.read|crm|7|high|migration", "t1|payments.transfer|crm|7|high|migration",
                                "t2|hr.payroll.read|hr|7|high|migration");
                assertThat(rows(sql, "select tenant_id, agent_id, owner, enabled, version, labels::text, max_chain_depth from agent order by tenant_id"))
                        .containsExactly("t1|agent-7|alice|t|1|{}|3", "t2|agent-7|bob|t|1|{}|null");
                // Migrating this schema left the application's own (public) alone: V32 once dropped public's index of
                // the quarantine count, found along the search path, and every later count read the whole table.
                assertThat(rows(sql, PUBLIC_INDEXES)).isEqualTo(publicIndexes);
                assertThat(rows(sql, "select indexname from pg_indexes where schemaname = '" + schema + "' and tablename = 'decision_record' order by 1"))
                        .containsExactly("decision_record_pkey", "decision_record_verified_activity");
            } finally {
                sql.execute("drop schema if exists " + schema + " cascade");
            }
        }
    }

    private static List<String> rows(Statement sql, String query) throws SQLException {
        List<String> rows = new ArrayList<>();
        try (ResultSet rs = sql.executeQuery(query)) {
            int columns = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                List<String> values = new ArrayList<>();
                for (int i = 1; i <= columns; i++) {
                    values.add(String.valueOf(rs.getString(i)));
                }
                rows.add(String.join("|", values));
            }
        }
        return rows;
    }
}

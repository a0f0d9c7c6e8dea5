package io.agentpdp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;

import io.agentpdp.support.IntegrationTest;

/**
 * The application's database role has no UPDATE or DELETE it does not use (V8): per table, exactly the columns
 * the application's own statements update, DELETE only where it deletes. That nothing it needs was taken away
 * is shown by the rest of the suite, which runs the application as this role.
 */
class AppRolePrivilegesTest extends IntegrationTest {

    /**
     * Per table: the columns the application updates (empty: none). The one place to change when a
     * feature starts writing a table (and its migration grants it): every assertion below derives from it.
     */
    private static final Map<String, Set<String>> UPDATABLE = new LinkedHashMap<>();
    /** The registry's tables (V9): the registry API replaces and deletes whole entries, each change logged. */
    private static final Set<String> EVERY_COLUMN = Set.of("*");
    /** The tables the application deletes from. */
    private static final Set<String> DELETABLE = Set.of("issued_credential", "agent", "target_system", "tool",
            "enforcement_point", "classification_rule", "audit_pending_link", "credential_profile");

    static {
        UPDATABLE.put("agent", EVERY_COLUMN);
        UPDATABLE.put("target_system", EVERY_COLUMN);
        UPDATABLE.put("tool", EVERY_COLUMN);
        UPDATABLE.put("enforcement_point", EVERY_COLUMN);
        UPDATABLE.put("classification_rule", EVERY_COLUMN);
        UPDATABLE.put("credential_profile", EVERY_COLUMN);
        UPDATABLE.put("registry_change", Set.of());
        UPDATABLE.put("registry_change_head", EVERY_COLUMN);
        UPDATABLE.put("resource_classification", Set.of());
        UPDATABLE.put("quarantine", Set.of("active", "reason", "changed_by", "changed_at", "quarantined_by"));
        UPDATABLE.put("quarantine_event", Set.of());
        UPDATABLE.put("approval", Set.of("status", "status_reason", "decided_at", "consumed_at", "expires_at", "mint_retries",
                "reminded_at"));
        UPDATABLE.put("approval_vote", Set.of());
        UPDATABLE.put("decision_record", Set.of());
        UPDATABLE.put("issued_credential", Set.of("revoke_requested_at", "revoked_at", "revocation_attempts",
                "last_revocation_error"));
        UPDATABLE.put("audit_chain_head", Set.of("seq", "last_hash"));
        UPDATABLE.put("approval_event", Set.of());
        UPDATABLE.put("approval_webhook_outbox", Set.of("attempts", "next_attempt_at", "delivered_at", "failed_at",
                "last_error"));
        UPDATABLE.put("audit_checkpoint", Set.of());
        // V27: links are insert-only; pending entries are a queue the linker empties (insert, delete).
        UPDATABLE.put("audit_link", Set.of());
        UPDATABLE.put("audit_pending_link", Set.of());
        // ShedLock renews and releases its lock rows in place (V7 grants UPDATE on the table).
        UPDATABLE.put("shedlock", Set.of("name", "lock_until", "locked_at", "locked_by"));
    }

    private Connection asApplication() throws SQLException {
        return DriverManager.getConnection(STACK.postgresUrl(), STACK.appUser(), STACK.appPassword());
    }

    /** The tables above that exist (a later migration may drop one; it is then no longer the PDP's to write). */
    private Map<String, Set<String>> existingTables() {
        Set<String> present = new TreeSet<>(jdbc.sql("select table_name from information_schema.tables where table_schema = current_schema()")
                .query(String.class).list());
        Map<String, Set<String>> tables = new LinkedHashMap<>(UPDATABLE);
        tables.keySet().retainAll(present);
        assertThat(tables).as("the approval, credential and audit tables are all checked")
                .containsKeys("approval", "issued_credential", "decision_record", "audit_chain_head", "quarantine",
                        "audit_link", "audit_pending_link");
        return tables;
    }

    private Set<String> updatable(Map.Entry<String, Set<String>> table) {
        return new TreeSet<>(table.getValue() == EVERY_COLUMN ? columns(table.getKey()) : table.getValue());
    }

    private List<String> columns(String table) {
        return jdbc.sql("select column_name from information_schema.columns where table_schema = current_schema()"
                + " and table_name = ? order by ordinal_position").param(table).query(String.class).list();
    }

    @Test
    void theApplicationRoleMayUpdateExactlyTheColumnsTheApplicationUpdatesAndDeleteOnlyExpiredCredentials() {
        for (Map.Entry<String, Set<String>> table : existingTables().entrySet()) {
            Set<String> updatable = new TreeSet<>(jdbc.sql("""
                    select column_name from information_schema.columns c
                    where table_schema = current_schema() and table_name = ?
                      and has_column_privilege(?, format('%I', c.table_name), c.column_name, 'UPDATE')
                    """).params(table.getKey(), STACK.appUser()).query(String.class).list());
            assertThat(updatable).as("columns of %s the application role may update", table.getKey())
                    .isEqualTo(updatable(table));
            boolean deletable = jdbc.sql("select has_table_privilege(?, ?, 'DELETE')")
                    .params(STACK.appUser(), table.getKey()).query(Boolean.class).single();
            assertThat(deletable).as("may the application role delete from %s", table.getKey())
                    .isEqualTo(DELETABLE.contains(table.getKey()));
            boolean truncatable = jdbc.sql("select has_table_privilege(?, ?, 'TRUNCATE')")
                    .params(STACK.appUser(), table.getKey()).query(Boolean.class).single();
            assertThat(truncatable).as("may the application role truncate %s", table.getKey()).isFalse();
        }
    }

    @Test
    void anUpdateOrDeleteTheApplicationNeverIssuesIsRefusedOnEveryTable() throws Exception {
        int refused = 0;
        try (Connection app = asApplication(); Statement sql = app.createStatement()) {
            for (Map.Entry<String, Set<String>> table : existingTables().entrySet()) {
                String name = table.getKey();
                // "where false": privileges are checked before any row is looked at, so nothing can change.
                for (String column : columns(name)) {
                    String update = "update " + name + " set " + column + " = " + column + " where false";
                    if (updatable(table).contains(column)) {
                        sql.executeUpdate(update);
                    } else {
                        assertThatThrownBy(() -> sql.executeUpdate(update)).as(update)
                                .isInstanceOf(SQLException.class).hasMessageContaining("permission denied");
                        refused++;
                    }
                }
                String delete = "delete from " + name + " where false";
                if (DELETABLE.contains(name)) {
                    sql.executeUpdate(delete);
                } else {
                    assertThatThrownBy(() -> sql.executeUpdate(delete)).as(delete)
                            .isInstanceOf(SQLException.class).hasMessageContaining("permission denied");
                    refused++;
                }
            }
        }
        assertThat(refused).as("statements refused").isGreaterThan(80);
    }
}

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

    /** Per table of V1..V6: the columns the application updates (empty: none). */
    private static final Map<String, Set<String>> UPDATABLE = new LinkedHashMap<>();
    /** The tables the application deletes from. */
    private static final Set<String> DELETABLE = Set.of("issued_credential");

    static {
        UPDATABLE.put("agent", Set.of());
        UPDATABLE.put("resource_classification", Set.of());
        UPDATABLE.put("quarantine", Set.of("active", "reason", "changed_by", "changed_at", "quarantined_by"));
        UPDATABLE.put("quarantine_event", Set.of());
        UPDATABLE.put("approval", Set.of("status", "status_reason", "decided_at", "consumed_at", "expires_at"));
        UPDATABLE.put("approval_vote", Set.of());
        UPDATABLE.put("decision_record", Set.of());
        UPDATABLE.put("issued_credential", Set.of("revoke_requested_at", "revoked_at", "revocation_attempts",
                "last_revocation_error"));
        UPDATABLE.put("audit_chain_head", Set.of("seq", "last_hash"));
        UPDATABLE.put("approval_event", Set.of());
        UPDATABLE.put("approval_webhook_outbox", Set.of("attempts", "next_attempt_at", "delivered_at", "failed_at",
                "last_error"));
    }

    private Connection asApplication() throws SQLException {
        return DriverManager.getConnection(STACK.postgresUrl(), STACK.appUser(), STACK.appPassword());
    }

    @Test
    void theApplicationRoleMayUpdateExactlyTheColumnsTheApplicationUpdatesAndDeleteOnlyExpiredCredentials() {
        for (Map.Entry<String, Set<String>> table : UPDATABLE.entrySet()) {
            Set<String> updatable = new TreeSet<>(jdbc.sql("""
                    select column_name from information_schema.columns c
                    where table_schema = current_schema() and table_name = ?
                      and has_column_privilege(?, format('%I', c.table_name), c.column_name, 'UPDATE')
                    """).params(table.getKey(), STACK.appUser()).query(String.class).list());
            assertThat(updatable).as("columns of %s the application role may update", table.getKey())
                    .isEqualTo(new TreeSet<>(table.getValue()));
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
        List<String> refused = List.of(
                "update agent set allowed_tools = '{payments.transfer}'",
                "delete from agent",
                "update resource_classification set classification = 'public'",
                "delete from resource_classification",
                "update quarantine set tenant_id = 'other'",
                "delete from quarantine",
                "update quarantine_event set actor = 'mallory'",
                "delete from quarantine_event",
                "update approval set fingerprint = 'forged'",
                "update approval set required_approvals = 0",
                "delete from approval",
                "update approval_vote set verdict = 'APPROVE'",
                "delete from approval_vote",
                "update decision_record set outcome = 'ALLOW'",
                "delete from decision_record",
                "update issued_credential set expires_at = now() + interval '1 day'",
                "update issued_credential set policies = '{agent-pdp}'",
                "update audit_chain_head set tenant_id = 'other'",
                "delete from audit_chain_head",
                "update approval_event set actor = 'mallory'",
                "delete from approval_event",
                "update approval_webhook_outbox set payload = '{}'",
                "delete from approval_webhook_outbox");
        try (Connection app = asApplication(); Statement sql = app.createStatement()) {
            for (String statement : refused) {
                // "where false": the privilege is checked before any row is looked at, so nothing can change.
                assertThatThrownBy(() -> sql.executeUpdate(statement + " where false")).as(statement)
                        .isInstanceOf(SQLException.class).hasMessageContaining("permission denied");
            }
            // What it does issue is still allowed (shape of the application's own statements).
            sql.executeUpdate("update approval set status = status, expires_at = expires_at where false");
            sql.executeUpdate("update issued_credential set revoked_at = now() where false");
            sql.executeUpdate("delete from issued_credential where false");
        }
    }
}

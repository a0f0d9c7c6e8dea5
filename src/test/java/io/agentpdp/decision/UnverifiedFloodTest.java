package io.agentpdp.decision;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;

import org.junit.jupiter.api.Test;

import tools.jackson.databind.JsonNode;

import io.agentpdp.support.FreshTables;
import io.agentpdp.support.FreshTables.Statistics;
import io.agentpdp.support.IntegrationTest;

/**
 * The attack: a decide token without the agent's JWT-SVID has every request recorded (DENY
 * {@code workload_identity_required}, {@code identity_verified} false), up to the per-agent rate limit. None of those
 * records counts toward the quarantine triggers (V23), but until V32 the count walked every one of them in its
 * window: each decision of that agent, the attacker's and the agent's own, read the whole flood, so the cost of a
 * decision grew with the attacker's rate on the PostgreSQL every tenant shares. Since V32 the count's index holds only
 * verified records, so it reads what it counts and nothing else.
 */
class UnverifiedFloodTest extends IntegrationTest {

    private static final int FLOOD = 5000;
    private static final int VERIFIED_DENIES = 10;

    @Test
    void aFloodOfUnverifiedRecordsIsNotReadByTheCount() throws Exception {
        try (FreshTables fresh = FreshTables.of(Statistics.NONE_FULL, List.of("decision_record"))) {
            Statement sql = fresh.sql();
            FreshTables.fillDecisions(sql, 100_000, 1000);
            // The agent's own verified decisions (the only ones that count), then the attacker's flood: the same
            // agent, the policy's DENY, within the window, without a verified identity.
            sql.execute(records(VERIFIED_DENIES, "true"));
            sql.execute(records(FLOOD, "false"));
            sql.execute("analyze decision_record");
            sql.execute("prepare activity as select * from decision_activity('t', 'agent-7', 60000, 60000, 'policy',"
                    + " 'request_refused')");
            for (int i = 0; i < 7; i++) {
                sql.execute("execute activity");
            }
            try (ResultSet counts = sql.executeQuery("execute activity")) {
                assertThat(counts.next()).isTrue();
                assertThat(counts.getLong("denies")).isEqualTo(VERIFIED_DENIES);
                assertThat(counts.getLong("decisions")).isEqualTo(VERIFIED_DENIES);
            }
            JsonNode root = fresh.explain("execute activity");
            // The verified records' heap pages and a few index pages; before V32, 5,000 more index entries and their
            // heap pages.
            assertThat(FreshTables.buffers(root)).as("buffers of one count: %s", FreshTables.scans(root))
                    .isLessThanOrEqualTo(VERIFIED_DENIES + 10);
        }
    }

    /** {@code n} DENYs of agent-7 by the policy within the last minute, verified or not. */
    private static String records(int n, String verified) {
        return """
                insert into decision_record (id, tenant_id, agent_id, task_id, chain_depth, tool, action, target_system,
                    target_resource, classification_declared, classification_effective, outcome, reasons, obligations,
                    caller, decided_at, cause, identity_verified)
                select gen_random_uuid(), 't', 'agent-7', 'task', 0, 'crm.contacts.delete', 'delete', 'crm',
                    'contacts/1', 'internal', 'internal', 'DENY', array['workload_identity_required'],
                    array[]::text[], 'caller', now() - (g %% 50) * interval '1 second', 'policy', %s
                from generate_series(1, %d) g""".formatted(verified, n);
    }
}

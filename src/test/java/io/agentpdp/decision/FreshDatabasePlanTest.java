package io.agentpdp.decision;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

import org.junit.jupiter.api.Test;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import io.agentpdp.registry.Registry;
import io.agentpdp.support.IntegrationTest;

/**
 * A fresh database is fast from the first decision (issue 18): the decide path's count of an agent's recent decisions
 * (migration V28, {@code decision_activity}) and its whole context read (V30: the parent decision, the presented
 * approval and the held credential found by their keys) read a few index pages per decision on tables that have no
 * statistics yet, or statistics taken while they were empty, with the plan made before the rows arrived (as a
 * prepared statement's generic plan is kept). Checked with EXPLAIN (ANALYZE, BUFFERS) on copies of the tables as
 * migrated, in a schema of their own, with autovacuum off for them (the state before autovacuum's first ANALYZE).
 */
class FreshDatabasePlanTest extends IntegrationTest {

    private static final int ROWS = 100_000;
    private static final int AGENTS = 1000;
    /**
     * The agent's own records (at most one heap page each: ROWS / AGENTS = 100) and a few index pages; the plans this
     * replaced read every recent record of the tenant, or the whole table.
     */
    private static final long MAX_BUFFERS = ROWS / AGENTS + 20;

    /** The count as the context read made it before V28, for the control case. */
    private static final String INLINE_BEFORE_V28 = """
            select count(*) filter (where outcome = 'DENY' and decided_at > now() - $3 * interval '1 millisecond'),
                   count(*) filter (where decided_at > now() - $4 * interval '1 millisecond')
            from decision_record
            where tenant_id = $1 and agent_id = $2
              and decided_at > now() - greatest($3, $4) * interval '1 millisecond'
              and (cause = 'policy' or cause is null and not ('request_refused' = any (reasons)))""";
    private static final String FUNCTION = "select * from decision_activity($1, $2, $3, $4, 'policy', 'request_refused')";

    private enum Statistics { NONE_EMPTY, VACUUMED_WHILE_EMPTY, NONE_FULL }

    private static Connection owner() throws SQLException {
        return DriverManager.getConnection(STACK.postgresUrl(), STACK.ownerUser(), STACK.ownerPassword());
    }

    /**
     * Buffers one call reads at 100k rows, with its plan prepared (and made generic: 7 runs) when the table was in the
     * given state. {@code tenantTimeIndex} re-creates the index V28 dropped.
     */
    private static long buffersPerCall(String query, Statistics statistics, boolean tenantTimeIndex) throws Exception {
        String schema = "fresh_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12).toLowerCase(Locale.ROOT);
        try (Connection owner = owner(); Statement sql = owner.createStatement()) {
            sql.execute("create schema " + schema);
            try {
                sql.execute("set search_path = " + schema + ", public");
                sql.execute("create table decision_record (like public.decision_record including all)"
                        + " with (autovacuum_enabled = false)");
                if (tenantTimeIndex) {
                    sql.execute("create index on decision_record (tenant_id, decided_at)");
                }
                if (statistics == Statistics.VACUUMED_WHILE_EMPTY) {
                    sql.execute("vacuum analyze decision_record");
                }
                if (statistics == Statistics.NONE_FULL) {
                    fill(sql);
                }
                sql.execute("prepare activity (text, text, bigint, bigint) as " + query);
                for (int i = 0; i < 7; i++) {
                    sql.execute("execute activity ('t', 'agent-" + i + "', 60000, 60000)");
                }
                if (statistics != Statistics.NONE_FULL) {
                    fill(sql);
                }
                try (ResultSet plan = sql.executeQuery(
                        "explain (analyze, buffers, format json) execute activity ('t', 'agent-7', 60000, 60000)")) {
                    assertThat(plan.next()).isTrue();
                    JsonNode root = JsonMapper.builder().build().readTree(plan.getString(1)).get(0).get("Plan");
                    assertThat(root.path("Actual Rows").asLong()).isEqualTo(1);
                    return root.path("Shared Hit Blocks").asLong() + root.path("Shared Read Blocks").asLong();
                }
            } finally {
                sql.execute("set search_path = public");
                sql.execute("deallocate all");
                sql.execute("drop schema " + schema + " cascade");
            }
        }
    }

    /** 100k records of one tenant over 1000 agents, all within the last minute. */
    private static void fill(Statement sql) throws SQLException {
        sql.execute("""
                insert into decision_record (id, tenant_id, agent_id, task_id, chain_depth, tool, action, target_system,
                    target_resource, classification_declared, classification_effective, outcome, reasons, obligations,
                    caller, decided_at, cause)
                select gen_random_uuid(), 't', 'agent-' || (g %% %d), 'task', 0, 'crm.contacts.read', 'read', 'crm',
                    'contacts/1', 'internal', 'internal', case when g %% 3 = 0 then 'DENY' else 'ALLOW' end,
                    array['low_risk_read'], array[]::text[], 'caller', now() - (g %% 50) * interval '1 second', 'policy'
                from generate_series(1, %d) g""".formatted(AGENTS, ROWS));
    }

    /** The tables the context read joins, copied as migrated; the functions it calls find the copies by search_path. */
    private static final List<String> CONTEXT_TABLES = List.of("agent", "tool", "credential_profile", "quarantine",
            "enforcement_point", "decision_record", "target_system", "classification_rule", "approval", "issued_credential");

    /**
     * Checks the buffers the whole context read takes at 100k decision records, 20k approvals and 20k credentials of the
     * tenant, its generic plan made while the tables were empty in the given state: a call naming no parent, approval
     * or held credential, and one naming keys that are not there.
     */
    private static void assertContextReadReadsAFewPages(Statistics statistics) throws Exception {
        String schema = "fresh_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12).toLowerCase(Locale.ROOT);
        try (Connection owner = owner(); Statement sql = owner.createStatement()) {
            sql.execute("create schema " + schema);
            try {
                sql.execute("set search_path = " + schema + ", public");
                for (String table : CONTEXT_TABLES) {
                    sql.execute("create table " + table + " (like public." + table + " including all)"
                            + " with (autovacuum_enabled = false)");
                    if (statistics == Statistics.VACUUMED_WHILE_EMPTY) {
                        sql.execute("vacuum analyze " + table);
                    }
                }
                sql.execute("set plan_cache_mode = force_generic_plan");
                sql.execute("prepare context as " + positional(DecisionContextLoader.CONTEXT.sql()));
                UUID absent = UUID.randomUUID();
                String withoutKeys = literals(query(null));
                String withKeys = literals(query(absent));
                sql.execute("execute context " + withoutKeys);
                fill(sql);
                sql.execute("""
                        insert into approval (id, tenant_id, agent_id, task_id, tool, action, target_hash, classification,
                            fingerprint, status, requested_by, decision_id, created_at, expires_at)
                        select gen_random_uuid(), 't', 'agent-7', 'task', 'crm.contacts.read', 'read', 'h', 'internal',
                            'f' || g, 'DENIED', 'caller', gen_random_uuid(), now(), now() + interval '1 hour'
                        from generate_series(1, 20000) g""");
                sql.execute("""
                        insert into issued_credential (accessor, tenant_id, agent_id, task_id, decision_id, policies,
                            issued_at, expires_at)
                        select 'accessor-' || g, 't', 'agent-7', 'task', gen_random_uuid(), array['p'], now(),
                            now() + interval '5 minutes'
                        from generate_series(1, 20000) g""");
                assertReadsAFewPages(sql, withoutKeys);
                assertReadsAFewPages(sql, withKeys);
            } finally {
                sql.execute("set search_path = public");
                sql.execute("deallocate all");
                sql.execute("drop schema " + schema + " cascade");
            }
        }
    }

    private static DecisionContextLoader.Query query(UUID keys) {
        return new DecisionContextLoader.Query("t", "caller", "agent-7", "task", keys, "crm.contacts.read",
                new Registry.Target("crm", "contacts/1", "crm", "contacts/1"), keys, keys, Duration.ofMinutes(1),
                Duration.ofMinutes(1));
    }

    private static void assertReadsAFewPages(Statement sql, String parameters) throws Exception {
        try (ResultSet plan = sql.executeQuery("explain (analyze, buffers, format json) execute context " + parameters)) {
            assertThat(plan.next()).isTrue();
            JsonNode root = JsonMapper.builder().build().readTree(plan.getString(1)).get(0).get("Plan");
            assertThat(root.path("Actual Rows").asLong()).isEqualTo(1);
            long buffers = root.path("Shared Hit Blocks").asLong() + root.path("Shared Read Blocks").asLong();
            List<String> scans = new ArrayList<>();
            collectScans(root, scans);
            assertThat(buffers).as("buffers of the context read %s: %s", parameters, scans)
                    .isLessThanOrEqualTo(MAX_BUFFERS + 60);
        }
    }

    private static void collectScans(JsonNode node, List<String> scans) {
        if (node.has("Relation Name") || node.has("Function Name")) {
            scans.add(node.path("Node Type").asString() + " " + node.path("Relation Name").asString(node.path("Function Name").asString())
                    + (node.has("Index Name") ? " using " + node.path("Index Name").asString() : ""));
        }
        for (JsonNode child : node.path("Plans")) {
            collectScans(child, scans);
        }
    }

    /** JDBC's {@code ?} placeholders as PREPARE's {@code $n}. */
    private static String positional(String jdbcSql) {
        StringBuilder out = new StringBuilder();
        int n = 0;
        for (char c : jdbcSql.toCharArray()) {
            if (c == '?') {
                out.append('$').append(++n);
            } else {
                out.append(c);
            }
        }
        assertThat(n).isEqualTo(DecisionContextLoader.parameters(query(null)).length);
        return out.toString();
    }

    /** {@code q}'s values as EXECUTE's literal list. */
    private static String literals(DecisionContextLoader.Query q) {
        List<String> literals = new ArrayList<>();
        for (Object value : DecisionContextLoader.parameters(q)) {
            literals.add(value == null ? "null" : value instanceof Number ? value.toString()
                    : "'" + value.toString().replace("'", "''") + "'");
        }
        return "(" + String.join(", ", literals) + ")";
    }

    /** Before V30 the parent lookup read the tenant's every record here: 100,700 buffers. */
    @Test
    void theContextReadReadsAFewPagesOnNeverAnalysedTablesFilledAfterItsPlanWasMade() throws Exception {
        assertContextReadReadsAFewPages(Statistics.NONE_EMPTY);
    }

    /** Before V30 the key lookups were sequential scans here: 3,600 buffers. */
    @Test
    void theContextReadReadsAFewPagesOnTablesAnalysedWhileEmpty() throws Exception {
        assertContextReadReadsAFewPages(Statistics.VACUUMED_WHILE_EMPTY);
    }

    @Test
    void theActivityCountReadsAFewPagesOnANeverAnalysedTableFilledAfterItsPlanWasMade() throws Exception {
        assertThat(buffersPerCall(FUNCTION, Statistics.NONE_EMPTY, false)).isLessThanOrEqualTo(MAX_BUFFERS);
    }

    @Test
    void theActivityCountReadsAFewPagesOnATableAnalysedWhileEmpty() throws Exception {
        assertThat(buffersPerCall(FUNCTION, Statistics.VACUUMED_WHILE_EMPTY, false)).isLessThanOrEqualTo(MAX_BUFFERS);
    }

    @Test
    void theActivityCountReadsAFewPagesOnANeverAnalysedFullTable() throws Exception {
        assertThat(buffersPerCall(FUNCTION, Statistics.NONE_FULL, false)).isLessThanOrEqualTo(MAX_BUFFERS);
    }

    /** The control: the count as it was before V28 reads the tenant's whole last minute in both fresh states. */
    @Test
    void theCountBeforeV28ReadThousandsOfPagesOnAFreshTable() throws Exception {
        assertThat(buffersPerCall(INLINE_BEFORE_V28, Statistics.NONE_EMPTY, true)).isGreaterThan(ROWS / 20);
        assertThat(buffersPerCall(INLINE_BEFORE_V28, Statistics.VACUUMED_WHILE_EMPTY, false)).isGreaterThan(ROWS / 200);
    }
}

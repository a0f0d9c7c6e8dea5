package io.agentpdp.support;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Copies of migrated tables in a schema of their own, in the state of a fresh database (no statistics, or statistics
 * taken while empty; autovacuum off for them), to check which plans the PDP's statements get there
 * ({@code FreshDatabasePlanTest}, {@code AuditLinkerPlanTest}).
 */
public final class FreshTables implements AutoCloseable {

    /** The tables' statistics when a statement's plan is made. */
    public enum Statistics { NONE_EMPTY, VACUUMED_WHILE_EMPTY, NONE_FULL }

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final Connection owner;
    private final Statement sql;
    private final String schema;

    private FreshTables(Connection owner, Statement sql, String schema) {
        this.owner = owner;
        this.sql = sql;
        this.schema = schema;
    }

    /**
     * Empty copies of {@code tables} (as migrated, every index), first on the search path of the returned session;
     * vacuumed and analysed while empty if {@code statistics} says so.
     */
    public static FreshTables of(Statistics statistics, List<String> tables) throws SQLException {
        TestStack.Endpoints stack = TestStack.get();
        Connection owner = DriverManager.getConnection(stack.postgresUrl(), stack.ownerUser(), stack.ownerPassword());
        Statement sql = owner.createStatement();
        String schema = "fresh_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12).toLowerCase(Locale.ROOT);
        FreshTables fresh = new FreshTables(owner, sql, schema);
        try {
            sql.execute("create schema " + schema);
            sql.execute("set search_path = " + schema + ", public");
            for (String table : tables) {
                sql.execute("create table " + table + " (like public." + table + " including all)"
                        + " with (autovacuum_enabled = false)");
                if (statistics == Statistics.VACUUMED_WHILE_EMPTY) {
                    sql.execute("vacuum analyze " + table);
                }
            }
            return fresh;
        } catch (SQLException | RuntimeException e) {
            fresh.close();
            throw e;
        }
    }

    /** The session, its search path on the copies. */
    public Statement sql() {
        return sql;
    }

    /** {@code rows} decision records of tenant {@code t} over {@code agents} agents, all within the last minute. */
    public static void fillDecisions(Statement sql, int rows, int agents) throws SQLException {
        sql.execute("""
                insert into decision_record (id, tenant_id, agent_id, task_id, chain_depth, tool, action, target_system,
                    target_resource, classification_declared, classification_effective, outcome, reasons, obligations,
                    caller, decided_at, cause)
                select gen_random_uuid(), 't', 'agent-' || (g %% %d), 'task', 0, 'crm.contacts.read', 'read', 'crm',
                    'contacts/1', 'internal', 'internal', case when g %% 3 = 0 then 'DENY' else 'ALLOW' end,
                    array['low_risk_read'], array[]::text[], 'caller', now() - (g %% 50) * interval '1 second', 'policy'
                from generate_series(1, %d) g""".formatted(agents, rows));
    }

    /** The root of {@code statement}'s EXPLAIN (ANALYZE, BUFFERS) plan. */
    public JsonNode explain(String statement) throws SQLException {
        try (ResultSet plan = sql.executeQuery("explain (analyze, buffers, format json) " + statement)) {
            if (!plan.next()) {
                throw new IllegalStateException("no plan for " + statement);
            }
            return JSON.readTree(plan.getString(1)).get(0).get("Plan");
        }
    }

    /** Shared buffers a plan touched (hits and reads). */
    public static long buffers(JsonNode plan) {
        return plan.path("Shared Hit Blocks").asLong() + plan.path("Shared Read Blocks").asLong();
    }

    /** Every scan in a plan, as "Node Type relation [using index]". */
    public static List<String> scans(JsonNode plan) {
        List<String> scans = new ArrayList<>();
        collectScans(plan, scans);
        return scans;
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

    @Override
    public void close() throws SQLException {
        try {
            sql.execute("set search_path = public");
            sql.execute("deallocate all");
            sql.execute("drop schema if exists " + schema + " cascade");
        } finally {
            owner.close();
        }
    }
}

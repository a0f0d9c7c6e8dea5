package io.agentpdp.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Statement;
import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import tools.jackson.databind.JsonNode;

import io.agentpdp.support.FreshTables;
import io.agentpdp.support.FreshTables.Statistics;
import io.agentpdp.support.IntegrationTest;

/**
 * The linker's batch reads each pending record by its primary key on a fresh database too: its generic plan made while
 * decision_record and audit_pending_link were empty (never analysed, or analysed while empty), then run with 100k
 * records of the tenant, 200 of them pending. Before the fence and the planner settings ({@code AuditLinker#BATCH_SQL})
 * this test found the tenant's other index (tenant, agent, time) with the id as a filter (never analysed) and a
 * sequential scan of decision_record for each pending record (analysed while empty): the class of plan V30 removed from
 * the context read.
 */
class AuditLinkerPlanTest extends IntegrationTest {

    private static final int ROWS = 100_000;
    private static final int PENDING = 200;

    @ParameterizedTest
    @EnumSource(value = Statistics.class, names = {"NONE_EMPTY", "VACUUMED_WHILE_EMPTY"})
    void theBatchLooksUpEachPendingRecordByItsKey(Statistics statistics) throws Exception {
        try (FreshTables fresh = FreshTables.of(statistics, List.of("decision_record", "audit_pending_link"))) {
            Statement sql = fresh.sql();
            sql.execute("set plan_cache_mode = force_generic_plan");
            // As the linker runs it: in a transaction, after its planner settings.
            sql.execute("begin");
            sql.execute(AuditLinker.KEY_LOOKUPS_ONLY);
            sql.execute("prepare batch (text, int) as "
                    + AuditLinker.BATCH_SQL.replace(":tenant", "$1").replace(":batch", "$2"));
            sql.execute("execute batch ('t', " + AuditLinker.BATCH + ")");
            FreshTables.fillDecisions(sql, ROWS, 1000);
            sql.execute("insert into audit_pending_link (tenant_id, decision_id)"
                    + " select tenant_id, id from decision_record order by decided_at desc limit " + PENDING);

            JsonNode plan = fresh.explain("execute batch ('t', " + AuditLinker.BATCH + ")");
            List<String> scans = FreshTables.scans(plan);
            assertThat(plan.path("Actual Rows").asLong()).isEqualTo(PENDING);
            assertThat(scans.stream().filter(scan -> scan.contains(" decision_record")).toList()).as("%s", scans)
                    .isNotEmpty()
                    .allMatch(scan -> scan.endsWith("using decision_record_pkey"));
            // A few index pages and one heap page per pending record; the whole table is about 4,000 pages.
            assertThat(FreshTables.buffers(plan)).as("%s", scans).isLessThanOrEqualTo(PENDING * 6L + 50);
            sql.execute("rollback");
        }
    }
}

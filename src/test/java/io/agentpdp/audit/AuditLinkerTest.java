package io.agentpdp.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import io.agentpdp.support.Api;
import io.micrometer.core.instrument.MeterRegistry;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;

/**
 * Decisions are committed unlinked and the linker appends them to their tenant's chain off the request path: within
 * the stated bound, without losing a record when a linker dies, and without letting a record escape the chain.
 */
class AuditLinkerTest extends IntegrationTest {

    @Autowired
    private AuditLinker linker;

    @Autowired
    private PlatformTransactionManager transactions;

    @Autowired
    private MeterRegistry meters;

    private String tenantWithAgent() {
        String tenant = newTenant();
        registerAgent(tenant, "agent-7", "o", new String[] {"crm.contacts.read"}, new String[] {"crm"});
        return tenant;
    }

    private void decide(String tenant, int count, int threads) throws Exception {
        String token = TestJwts.token("gw-1", tenant, "decide");
        try (var pool = Executors.newFixedThreadPool(threads)) {
            List<Callable<Integer>> calls = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                calls.add(() -> api().post("/v1/decisions", token, lowRiskRead(tenant)).status());
            }
            for (var f : pool.invokeAll(calls)) {
                assertThat(f.get()).isEqualTo(200);
            }
        }
    }

    private Api.Answer verify(String tenant) {
        Api.Answer verification = api().get("/v1/audit/verify", TestJwts.token("sec", tenant, "security-admin"));
        assertThat(verification.status()).isEqualTo(200);
        return verification;
    }

    private static Connection app() throws SQLException {
        return DriverManager.getConnection(STACK.postgresUrl(), STACK.appUser(), STACK.appPassword());
    }

    private static Connection owner() throws SQLException {
        return DriverManager.getConnection(STACK.postgresUrl(), STACK.ownerUser(), STACK.ownerPassword());
    }

    /** Takes the tenant's linker lock on a session of its own: no linker of any replica links the tenant meanwhile. */
    private static Connection holdLinker(String tenant) throws SQLException {
        Connection session = app();
        try (PreparedStatement lock = session.prepareStatement(
                "select pg_advisory_lock(hashtext('agent-pdp audit-link'), hashtext(?))")) {
            lock.setString(1, tenant);
            lock.execute();
        }
        return session;
    }

    @Test
    void everyRecordIsLinkedWithinOneSecondOfItsDecision() throws Exception {
        String tenant = tenantWithAgent();
        decide(tenant, 60, 6);
        Api.Answer verification = verifyLinked(tenant);
        assertThat(verification.json().path("valid").asBoolean()).as(verification.body()).isTrue();
        assertThat(verification.json().path("records_checked").asLong()).isEqualTo(60);
        assertThat(verification.json().path("records_pending_link").asLong()).isZero();
        assertThat(verification.json().has("oldest_pending_link_at")).isFalse();
        // linked_at is the link's insert time; decided_at precedes the record's commit, so this bounds commit-to-link.
        double slowest = jdbc.sql("""
                select max(extract(epoch from l.linked_at - r.decided_at)) from audit_link l
                join decision_record r on r.id = l.decision_id where l.tenant_id = ?""")
                .param(tenant).query(Double.class).single();
        assertThat(slowest).as("seconds from decision to link, slowest record").isLessThanOrEqualTo(1.0);
        // pdp_audit_link_lag_seconds is published, and no link round failed.
        assertThat(meters.get("pdp.audit.link.lag").gauge().value()).isGreaterThanOrEqualTo(0.0);
    }

    @Test
    void recordsWaitingForTheLinkerAreCountedNeverVerifiedAndLinkedOnceItRuns() throws Exception {
        String tenant = tenantWithAgent();
        decide(tenant, 2, 1);
        verifyLinked(tenant);
        try (Connection held = holdLinker(tenant)) {
            decide(tenant, 3, 3);
            Api.Answer waiting = verify(tenant);
            assertThat(waiting.json().path("valid").asBoolean()).isTrue();
            assertThat(waiting.json().path("records_checked").asLong()).isEqualTo(2);
            assertThat(waiting.json().path("head_seq").asLong()).isEqualTo(2);
            assertThat(waiting.json().path("records_pending_link").asLong()).isEqualTo(3);
            assertThat(waiting.text("oldest_pending_link_at")).isNotBlank();
        }
        Api.Answer linked = verifyLinked(tenant);
        assertThat(linked.json().path("valid").asBoolean()).isTrue();
        assertThat(linked.json().path("records_checked").asLong()).isEqualTo(5);
        assertThat(linked.json().path("records_pending_link").asLong()).isZero();
    }

    @Test
    void aLinkerThatDiesBeforeCommittingLosesNothing() throws Exception {
        String tenant = tenantWithAgent();
        TransactionTemplate crashing = new TransactionTemplate(transactions);
        int linkedBeforeTheCrash = crashing.execute(status -> {
            // This transaction holds the tenant's linker lock: the scheduled linkers skip the tenant until it ends.
            jdbc.sql("select true from (select pg_advisory_xact_lock(hashtext('agent-pdp audit-link'), hashtext(?))) l")
                    .param(tenant).query(Boolean.class).single();
            try {
                decide(tenant, 4, 2);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            assertThat(verify(tenant).json().path("records_pending_link").asLong()).isEqualTo(4);
            int linked = linker.link(tenant);
            assertThat(jdbc.sql("select count(*) from audit_link where tenant_id = ?").param(tenant).query(Long.class).single())
                    .as("linked inside the dying transaction").isEqualTo(4);
            // The process dies before the commit: PostgreSQL rolls the whole batch back.
            status.setRollbackOnly();
            return linked;
        });
        assertThat(linkedBeforeTheCrash).isEqualTo(4);
        assertThat(jdbc.sql("select count(*) from decision_record where tenant_id = ?").param(tenant).query(Long.class).single())
                .as("every committed decision is still there").isEqualTo(4);
        Api.Answer verification = verifyLinked(tenant);
        assertThat(verification.json().path("valid").asBoolean()).as(verification.body()).isTrue();
        assertThat(verification.json().path("records_checked").asLong()).isEqualTo(4);
        assertThat(verification.json().path("head_seq").asLong()).isEqualTo(4);
        assertThat(verification.json().path("records_pending_link").asLong()).isZero();
    }

    @Test
    void aRecordWrittenAroundThePdpIsAnUnlinkedRecord() throws Exception {
        String tenant = tenantWithAgent();
        decide(tenant, 2, 1);
        verifyLinked(tenant);
        UUID forged = UUID.randomUUID();
        try (Connection owner = owner(); Statement sql = owner.createStatement()) {
            // A copy of a genuine record under a new id, inserted straight into the table.
            sql.executeUpdate("create temp table copy as select * from decision_record where tenant_id = '" + tenant
                    + "' limit 1");
            sql.executeUpdate("update copy set id = '" + forged + "'");
            sql.executeUpdate("insert into decision_record select * from copy");
        }
        Api.Answer verification = verify(tenant);
        assertThat(verification.json().path("valid").asBoolean()).isFalse();
        assertThat(verification.text("kind")).isEqualTo("unlinked_record");
        assertThat(verification.text("broken_decision_id")).isEqualTo(forged.toString());
        assertThat(verification.json().path("records_checked").asLong()).isEqualTo(2);
    }

    @Test
    void aPendingEntryDeletedBeforeLinkingLeavesAnUnlinkedRecord() throws Exception {
        String tenant = tenantWithAgent();
        try (Connection held = holdLinker(tenant)) {
            decide(tenant, 1, 1);
            try (Connection owner = owner(); Statement sql = owner.createStatement()) {
                sql.executeUpdate("delete from audit_pending_link where tenant_id = '" + tenant + "'");
            }
        }
        linker.link(tenant, true);
        Api.Answer verification = verify(tenant);
        assertThat(verification.json().path("valid").asBoolean()).isFalse();
        assertThat(verification.text("kind")).isEqualTo("unlinked_record");
        assertThat(verification.json().path("records_pending_link").asLong()).isZero();
    }

    /**
     * The linker's window (docs/security.md): a record is hashed when it is linked, so a DB owner who edits it before
     * that is not caught by the chain, exactly as for any record after the latest checkpoint (which the owner can
     * rewrite and re-hash). Verify never vouches for it meanwhile: it is counted as pending, not checked. Once linked,
     * an edit breaks the chain.
     */
    @Test
    void aRecordIsProtectedFromItsLinkOnAndReportedAsPendingBefore() throws Exception {
        String tenant = tenantWithAgent();
        try (Connection held = holdLinker(tenant)) {
            decide(tenant, 1, 1);
            Api.Answer pending = verify(tenant);
            assertThat(pending.json().path("records_checked").asLong()).as("not vouched for while pending").isZero();
            assertThat(pending.json().path("records_pending_link").asLong()).isEqualTo(1);
        }
        Api.Answer linked = verifyLinked(tenant);
        assertThat(linked.json().path("records_checked").asLong()).isEqualTo(1);
        try (Connection owner = owner(); Statement sql = owner.createStatement()) {
            sql.executeUpdate("update decision_record set reasons = '{forged}' where tenant_id = '" + tenant + "'");
        }
        Api.Answer edited = verify(tenant);
        assertThat(edited.json().path("valid").asBoolean()).isFalse();
        assertThat(edited.text("kind")).isEqualTo("chain_broken");
        assertThat(edited.json().path("broken_at_seq").asLong()).isEqualTo(1);
        try (Connection owner = owner(); PreparedStatement forget = owner.prepareStatement("delete from audit_chain_head where tenant_id = ?")) {
            forget.setString(1, tenant);
            forget.executeUpdate();
        }
    }
}

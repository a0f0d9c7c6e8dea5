package io.agentpdp.audit;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Appends committed, not yet linked decision records to their tenant's hash chain, off the request path. A
 * decision is committed with an entry in {@code audit_pending_link} ({@link AuditTrail#recordDecision}); every
 * {@code pdp.audit.link-interval} each replica's linker takes the tenants with pending entries and, per tenant,
 * under a transaction-scoped advisory lock that only one linker at a time can hold (others skip the tenant that
 * round), computes {@code sha256(previous || canonical content)} for up to {@value #BATCH} records, inserts their
 * links, advances {@code audit_chain_head} and deletes their pending entries, all in one transaction. A linker that
 * dies mid-batch rolls back: the records stay pending and the next round links them, so nothing is lost.
 * <p>
 * It runs on its own thread, so no other scheduled job can delay it.
 */
@Component
class AuditLinker implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(AuditLinker.class);
    static final int BATCH = 1000;
    /**
     * The tenant's next batch, each pending record looked up by its primary key alone (the tenant is checked outside the
     * OFFSET 0 fence, so no other index can serve the lookup), one row at a time (joined as a set, the planner hashed
     * all of decision_record per batch, 40 ms to 3 s a round). Run after {@link #KEY_LOOKUPS_ONLY}: planned on a fresh
     * database (tables empty, never analysed or analysed while empty) it otherwise read the tenant's every record, or the
     * whole table, for each pending one ({@code AuditLinkerPlanTest}; the context read's V30 fix, for the linker).
     */
    static final String BATCH_SQL = """
            select p.pending_no, p.decision_id, r.*
            from (select pending_no, decision_id, tenant_id from audit_pending_link where tenant_id = :tenant
                  order by pending_no limit :batch) p
            left join lateral (select * from (select * from decision_record d where d.id = p.decision_id offset 0) k
                  where k.tenant_id = p.tenant_id) r on true
            order by p.pending_no""";
    /** For the rest of the batch's transaction: no sequential or bitmap scans, so a key is looked up by its index. */
    static final String KEY_LOOKUPS_ONLY =
            "select set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true)";
    private static final String GENESIS = "genesis";

    private final JdbcClient jdbc;
    private final TransactionTemplate transaction;
    private final long intervalMillis;
    /** Tenants whose chain the linker refused to extend, with the reason last logged. */
    private final Map<String, String> reported = new ConcurrentHashMap<>();
    private volatile ScheduledExecutorService executor;
    /** Seconds since the decision of the oldest record pending at the start of the last round; -1: that round failed. */
    private final AtomicReference<Double> lag = new AtomicReference<>(0.0);

    AuditLinker(JdbcClient jdbc, PlatformTransactionManager transactions, AuditProperties properties,
                MeterRegistry registry) {
        this.jdbc = jdbc;
        this.transaction = new TransactionTemplate(transactions);
        this.intervalMillis = properties.linkInterval().toMillis();
        Gauge.builder("pdp.audit.link.lag", lag, AtomicReference::get).baseUnit("seconds")
                .description("Age (from its decision) of the oldest audit record waiting for the linker at the start of "
                        + "this replica's last link round; 0 when none, -1 when the round failed")
                .register(registry);
    }

    /** Links every tenant's pending records; returns how many were linked. */
    int linkAll() {
        // Each tenant's oldest pending entry, and its record by primary key: a join with decision_record was planned
        // as a sequential scan of the whole table while it had no statistics (a fresh database, bench/fresh.sh).
        List<Map.Entry<String, Double>> waiting = jdbc.sql("""
                select o.tenant_id, coalesce(extract(epoch from clock_timestamp()
                    - (select r.decided_at from decision_record r where r.id = o.decision_id)), 0) as age
                from (select distinct on (tenant_id) tenant_id, decision_id from audit_pending_link
                      order by tenant_id, pending_no) o""")
                .query((rs, row) -> Map.entry(rs.getString("tenant_id"), rs.getDouble("age")))
                .list();
        lag.set(waiting.stream().mapToDouble(Map.Entry::getValue).max().orElse(0));
        List<String> tenants = waiting.stream().map(Map.Entry::getKey).toList();
        int linked = 0;
        for (String tenant : tenants) {
            try {
                linked += link(tenant);
            } catch (RuntimeException e) {
                // One tenant's failure must not hold up the others; its records stay pending.
                report(tenant, "linking failed: " + e.getMessage());
            }
        }
        return linked;
    }

    /**
     * Links the tenant's pending records, one transaction per batch; returns how many. Returns 0 at once when another
     * linker holds the tenant, or when the stored head is not the end of the stored chain (logged as an error).
     */
    int link(String tenant) {
        return link(tenant, false);
    }

    /** As {@link #link(String)}; with {@code wait}, waits for another linker of the tenant instead of skipping it. */
    int link(String tenant, boolean wait) {
        int total = 0;
        int linked;
        do {
            Integer batch = transaction.execute(status -> linkBatch(tenant, wait));
            linked = batch == null ? 0 : batch;
            total += linked;
        } while (linked == BATCH);
        return total;
    }

    private record Pending(long pendingNo, UUID decisionId, AuditTrail.StoredDecision stored) {
    }

    private int linkBatch(String tenant, boolean wait) {
        boolean mine = jdbc.sql(wait
                        ? "select true from (select pg_advisory_xact_lock(hashtext('agent-pdp audit-link'), hashtext(:tenant))) locked"
                        : "select pg_try_advisory_xact_lock(hashtext('agent-pdp audit-link'), hashtext(:tenant))")
                .param("tenant", tenant)
                .query(Boolean.class)
                .single();
        if (!mine) {
            return 0;
        }
        AuditChain.Head head = jdbc.sql("""
                select h.seq, h.last_hash,
                    (select l.record_hash from audit_link l where l.tenant_id = h.tenant_id and l.seq = h.seq) as hash_at_head
                from audit_chain_head h where h.tenant_id = :tenant""")
                .param("tenant", tenant)
                .query((rs, row) -> new AuditChain.Head(rs.getLong("seq"),
                        rs.getString("last_hash").equals(rs.getString("hash_at_head")) ? rs.getString("last_hash") : null))
                .optional()
                .orElse(new AuditChain.Head(0, GENESIS));
        long lastLinked = jdbc.sql("select coalesce(max(seq), 0) from audit_link where tenant_id = :tenant")
                .param("tenant", tenant)
                .query(Long.class)
                .single();
        if (head.hash() == null || lastLinked != head.seq()) {
            // Never extend a head that is not the chain's end: that would bury a cut or rewound chain under new links.
            report(tenant, "the stored head (seq " + head.seq() + ") is not the end of the stored chain (seq "
                    + lastLinked + "); its records stay pending; GET /v1/audit/verify reports the details");
            return 0;
        }
        jdbc.sql(KEY_LOOKUPS_ONLY).query((rs, row) -> true).list();
        List<Pending> batch = jdbc.sql(BATCH_SQL)
                .param("tenant", tenant)
                .param("batch", BATCH)
                .query((rs, row) -> pending(rs))
                .list();
        if (batch.isEmpty()) {
            return 0;
        }
        List<Long> seqs = new ArrayList<>(batch.size());
        List<UUID> ids = new ArrayList<>(batch.size());
        List<String> hashes = new ArrayList<>(batch.size());
        List<Long> done = new ArrayList<>(batch.size());
        long seq = head.seq();
        String previous = head.hash();
        for (Pending p : batch) {
            done.add(p.pendingNo());
            if (p.stored() == null) {
                // The record is gone (deleted by hand before it was linked): nothing to link.
                log.warn("Audit record {} of tenant {} was pending but no longer exists; its pending entry is dropped",
                        p.decisionId(), tenant);
                continue;
            }
            previous = AuditTrail.sha256(previous + AuditChain.content(p.stored().entry(), p.stored().accessorHash()));
            seqs.add(++seq);
            ids.add(p.decisionId());
            hashes.add(previous);
        }
        if (!ids.isEmpty()) {
            jdbc.sql("""
                    insert into audit_link (tenant_id, seq, decision_id, record_hash, linked_at)
                    select :tenant, s, d, h, clock_timestamp() from unnest(cast(:seqs as bigint[]), cast(:ids as uuid[]), cast(:hashes as text[])) as u (s, d, h)
                    """)
                    .param("tenant", tenant)
                    .param("seqs", seqs.toArray(Long[]::new))
                    .param("ids", ids.toArray(UUID[]::new))
                    .param("hashes", hashes.toArray(String[]::new))
                    .update();
            jdbc.sql("""
                    insert into audit_chain_head as h (tenant_id, seq, last_hash) values (:tenant, :seq, :hash)
                    on conflict (tenant_id) do update set seq = excluded.seq, last_hash = excluded.last_hash
                    """)
                    .param("tenant", tenant)
                    .param("seq", seq)
                    .param("hash", previous)
                    .update();
        }
        jdbc.sql("delete from audit_pending_link where pending_no = any(cast(:done as bigint[]))")
                .param("done", done.toArray(Long[]::new))
                .update();
        reported.remove(tenant);
        return batch.size();
    }

    private static Pending pending(ResultSet rs) throws SQLException {
        UUID decisionId = rs.getObject("decision_id", UUID.class);
        boolean exists = rs.getObject("id") != null;
        return new Pending(rs.getLong("pending_no"), decisionId, exists ? AuditTrail.read(rs) : null);
    }

    private void report(String tenant, String reason) {
        // Once per tenant and state, not at every interval.
        if (!reason.equals(reported.put(tenant, reason))) {
            log.error("Audit records of tenant {} not linked: {}", tenant, reason);
        }
    }

    private void round() {
        try {
            linkAll();
        } catch (RuntimeException e) {
            lag.set(-1.0);
            log.warn("Audit link round failed; retrying at the next interval: {}", e.getMessage());
        }
    }

    @Override
    public void start() {
        executor = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("audit-linker").daemon().factory());
        executor.scheduleWithFixedDelay(this::round, intervalMillis, intervalMillis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void stop() {
        ScheduledExecutorService running = executor;
        executor = null;
        if (running != null) {
            running.shutdown();
            try {
                // A round in progress commits or rolls back as a whole; pending records wait for the next replica.
                running.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public boolean isRunning() {
        return executor != null;
    }
}

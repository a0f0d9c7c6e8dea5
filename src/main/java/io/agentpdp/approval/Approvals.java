package io.agentpdp.approval;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;

import io.agentpdp.security.Caller;
import io.agentpdp.web.Problems;

/**
 * The step-up approval workflow, the one entry point of this feature. The decision flow opens a
 * request for a STEP_UP ({@link #request}) and spends an approved one ({@link #consume}); approvers
 * vote through the API. Every transition is a conditional update or happens under a row lock, in
 * one transaction with its {@link ApprovalEvents audit event}, so it happens exactly once.
 */
@Service
public class Approvals {

    private final JdbcClient jdbc;
    private final TransactionTemplate tx;
    private final ApprovalEvents events;
    private final ApprovalProperties properties;

    Approvals(JdbcClient jdbc, TransactionTemplate tx, ApprovalEvents events, ApprovalProperties properties) {
        this.jdbc = jdbc;
        this.tx = tx;
        this.events = events;
        this.properties = properties;
    }

    /** What a STEP_UP asks a human to approve: the action, bound by its fingerprint. */
    public record Request(String tenant, String agentId, String taskId, String tool, String action,
                          String targetHash, String classification, String fingerprint, int requiredApprovals,
                          String requestedBy, String agentOwner, UUID decisionId) {
    }

    /** The open request a STEP_UP answer names. */
    public record Ticket(UUID id, String status, Instant expiresAt, int requiredApprovals) {
    }

    /** How an attempt to spend an approval ended; anything but {@link #CONSUMED} is a DENY for {@link #reason()}. */
    public enum Consumption {
        CONSUMED("approved_by_human"),
        ALREADY_CONSUMED("approval_consumed"),
        EXPIRED("approval_expired"),
        NOT_APPROVED("approval_not_approved"),
        MISMATCH("approval_mismatch"),
        UNKNOWN("approval_unknown");

        private final String reason;

        Consumption(String reason) {
            this.reason = reason;
        }

        public String reason() {
            return reason;
        }
    }

    /**
     * Opens the approval request for an action, or returns the one already open for the same
     * fingerprint (idempotent: one open request per action). A stale open request past its expiry is
     * expired first, so that it never blocks a new one.
     */
    public Ticket request(Request r) {
        ApprovalRow row = tx.execute(status -> {
            expire("tenant_id = :tenant and fingerprint = :fingerprint and status in ('PENDING', 'APPROVED')"
                    + " and expires_at <= now()", Map.of("tenant", r.tenant(), "fingerprint", r.fingerprint()));
            // Another request may win the insert and then be decided at once: look again a few times.
            for (int attempt = 0; attempt < 3; attempt++) {
                Optional<ApprovalRow> inserted = insert(r);
                if (inserted.isPresent()) {
                    events.record(inserted.get(), "REQUESTED", r.requestedBy(), "decision " + r.decisionId());
                    return inserted.get();
                }
                Optional<ApprovalRow> open = jdbc.sql("select " + ApprovalRow.COLUMNS + " from approval"
                                + " where tenant_id = :tenant and fingerprint = :fingerprint and status in ('PENDING', 'APPROVED')")
                        .param("tenant", r.tenant())
                        .param("fingerprint", r.fingerprint())
                        .query(ApprovalRow::map)
                        .optional();
                if (open.isPresent()) {
                    return open.get();
                }
            }
            throw new IllegalStateException("No open approval request could be created or found");
        });
        return new Ticket(row.id(), row.status(), row.expiresAt(), row.requiredApprovals());
    }

    private Optional<ApprovalRow> insert(Request r) {
        return jdbc.sql("""
                insert into approval (id, tenant_id, agent_id, task_id, tool, action, target_hash, classification,
                    fingerprint, status, required_approvals, requested_by, agent_owner, decision_id, expires_at)
                values (:id, :tenant, :agent, :task, :tool, :action, :targetHash, :classification, :fingerprint,
                    'PENDING', :required, :requestedBy, :owner, :decision, now() + :ttlMillis * interval '1 millisecond')
                on conflict do nothing
                returning\s""" + ApprovalRow.COLUMNS)
                .param("id", UUID.randomUUID())
                .param("tenant", r.tenant())
                .param("agent", r.agentId())
                .param("task", r.taskId())
                .param("tool", r.tool())
                .param("action", r.action())
                .param("targetHash", r.targetHash())
                .param("classification", r.classification())
                .param("fingerprint", r.fingerprint())
                .param("required", r.requiredApprovals())
                .param("requestedBy", r.requestedBy())
                .param("owner", r.agentOwner())
                .param("decision", r.decisionId())
                .param("ttlMillis", properties.pendingTtl().toMillis())
                .query(ApprovalRow::map)
                .optional();
    }

    /**
     * Spends an approved request for the action with {@code fingerprint}: one conditional update, so
     * of any number of concurrent attempts exactly one succeeds. Call it before minting a credential.
     */
    public Consumption consume(String tenant, UUID id, String fingerprint, String consumer, UUID decisionId) {
        return tx.execute(status -> {
            Optional<ApprovalRow> consumed = jdbc.sql("""
                    update approval set status = 'CONSUMED', consumed_at = now(), status_reason = :reason
                    where id = :id and tenant_id = :tenant and status = 'APPROVED' and fingerprint = :fingerprint
                      and expires_at > now()
                    returning\s""" + ApprovalRow.COLUMNS)
                    .param("reason", "consumed by decision " + decisionId)
                    .param("id", id)
                    .param("tenant", tenant)
                    .param("fingerprint", fingerprint)
                    .query(ApprovalRow::map)
                    .optional();
            if (consumed.isPresent()) {
                events.record(consumed.get(), "CONSUMED", consumer, "decision " + decisionId);
                return Consumption.CONSUMED;
            }
            return find(tenant, id).map(row -> switch (row.status()) {
                case ApprovalRow.CONSUMED -> Consumption.ALREADY_CONSUMED;
                case ApprovalRow.EXPIRED -> Consumption.EXPIRED;
                case ApprovalRow.APPROVED -> Consumption.MISMATCH;
                default -> Consumption.NOT_APPROVED;
            }).orElse(Consumption.UNKNOWN);
        });
    }

    /**
     * Cancels every open request of an agent (the quarantine cascade), each with its audit event;
     * joins the caller's transaction when there is one. Returns how many were cancelled.
     */
    public int cancelOpen(String tenant, String agentId, String actor, String reason) {
        Integer cancelled = tx.execute(status -> {
            List<ApprovalRow> rows = jdbc.sql("update approval set status = 'CANCELLED', status_reason = :reason,"
                            + " decided_at = now() where tenant_id = :tenant and agent_id = :agent"
                            + " and status in ('PENDING', 'APPROVED') returning " + ApprovalRow.COLUMNS)
                    .param("reason", reason)
                    .param("tenant", tenant)
                    .param("agent", agentId)
                    .query(ApprovalRow::map)
                    .list();
            rows.forEach(row -> events.record(row, "CANCELLED", actor, reason));
            return rows.size();
        });
        return cancelled == null ? 0 : cancelled;
    }

    // ---- the approvers' side (ApprovalController) ---------------------------------------------------

    Optional<ApprovalRow> find(String tenant, UUID id) {
        return jdbc.sql("select " + ApprovalRow.COLUMNS + " from approval where id = :id and tenant_id = :tenant")
                .param("id", id)
                .param("tenant", tenant)
                .query(ApprovalRow::map)
                .optional();
    }

    /** The request as stored together with the database's time of the read (the clock its expiry is on). */
    record Observed(ApprovalRow row, Instant databaseNow) {
    }

    Optional<Observed> observe(String tenant, UUID id) {
        return jdbc.sql("select " + ApprovalRow.COLUMNS + ", now() as database_now from approval where id = :id and tenant_id = :tenant")
                .param("id", id)
                .param("tenant", tenant)
                .query((rs, n) -> new Observed(ApprovalRow.map(rs, n), rs.getTimestamp("database_now").toInstant()))
                .optional();
    }

    ApprovalView view(Caller caller, UUID id) {
        return view(find(caller.tenant(), id).orElseThrow(() -> notFound(id)));
    }

    /** The request as read, with its votes. */
    ApprovalView view(ApprovalRow row) {
        List<ApprovalView.Vote> votes = jdbc.sql("select approver, verdict, comment, at from approval_vote"
                        + " where approval_id = :id order by at, approver")
                .param("id", row.id())
                .query((rs, n) -> new ApprovalView.Vote(rs.getString("approver"), rs.getString("verdict"),
                        rs.getString("comment"), rs.getTimestamp("at").toInstant()))
                .list();
        return ApprovalView.of(row, votes);
    }

    ApprovalView.Page list(Caller caller, String status, String agentId, int page, int size) {
        String filter = " from (select " + ApprovalRow.COLUMNS + " from approval where tenant_id = :tenant"
                + " and (cast(:agent as text) is null or agent_id = :agent)) a where a.effective_status = :status";
        long total = jdbc.sql("select count(*)" + filter)
                .param("tenant", caller.tenant())
                .param("agent", agentId)
                .param("status", status)
                .query(Long.class)
                .single();
        List<ApprovalView> items = jdbc.sql("select *" + filter + " order by a.created_at, a.id limit :size offset :offset")
                .param("tenant", caller.tenant())
                .param("agent", agentId)
                .param("status", status)
                .param("size", size)
                .param("offset", (long) page * size)
                .query(ApprovalRow::map)
                .list()
                .stream()
                .map(row -> ApprovalView.of(row, null))
                .toList();
        return new ApprovalView.Page(items, page, size, total);
    }

    /**
     * One approver's verdict. Under a row lock: the approver must be neither the requester nor the
     * agent's owner, may vote once, and only while the request is PENDING; the request flips to
     * APPROVED when the quorum is reached, to DENIED on the first deny.
     */
    ApprovalView vote(Caller caller, UUID id, boolean approve, String comment) {
        Vote outcome = tx.execute(status -> {
            ApprovalRow row = jdbc.sql("select " + ApprovalRow.COLUMNS + " from approval where id = :id and tenant_id = :tenant for update")
                    .param("id", id)
                    .param("tenant", caller.tenant())
                    .query(ApprovalRow::map)
                    .optional()
                    .orElse(null);
            if (row == null) {
                return Vote.NOT_FOUND;
            }
            if (caller.subject().equals(row.requestedBy()) || caller.subject().equals(row.agentOwner())) {
                return Vote.SELF_APPROVAL;
            }
            if (ApprovalRow.EXPIRED.equals(row.status())) {
                expire("id = :id and status in ('PENDING', 'APPROVED')", Map.of("id", id));
                return Vote.CLOSED;
            }
            if (!ApprovalRow.PENDING.equals(row.status())) {
                return Vote.CLOSED;
            }
            int inserted = jdbc.sql("insert into approval_vote (approval_id, approver, verdict, comment)"
                            + " values (:id, :approver, :verdict, :comment) on conflict do nothing")
                    .param("id", id)
                    .param("approver", caller.subject())
                    .param("verdict", approve ? "APPROVE" : "DENY")
                    .param("comment", comment)
                    .update();
            if (inserted == 0) {
                return Vote.DUPLICATE;
            }
            events.record(row, "VOTED", caller.subject(), (approve ? "approve: " : "deny: ") + comment);
            if (!approve) {
                transition(row, "DENIED", "status = 'DENIED', decided_at = now(), status_reason = :reason",
                        caller.subject(), comment, null);
                return Vote.RECORDED;
            }
            long approvals = jdbc.sql("select count(*) from approval_vote where approval_id = :id and verdict = 'APPROVE'")
                    .param("id", id)
                    .query(Long.class)
                    .single();
            if (approvals >= row.requiredApprovals()) {
                transition(row, "APPROVED", "status = 'APPROVED', decided_at = now(), status_reason = :reason,"
                                + " expires_at = now() + :ttlMillis * interval '1 millisecond'",
                        caller.subject(), comment, properties.approvedTtl().toMillis());
            }
            return Vote.RECORDED;
        });
        return switch (outcome) {
            case NOT_FOUND -> throw notFound(id);
            case SELF_APPROVAL -> throw new Problems.ApiException(403, "Forbidden",
                    "The requester of an approval and the agent's owner may not decide on it.");
            case CLOSED -> throw new Problems.ApiException(409, "Conflict", "The approval request is no longer pending.");
            case DUPLICATE -> throw new Problems.ApiException(409, "Conflict", "This approver has already voted on the request.");
            case RECORDED -> view(caller, id);
        };
    }

    private enum Vote { NOT_FOUND, SELF_APPROVAL, CLOSED, DUPLICATE, RECORDED }

    private void transition(ApprovalRow row, String event, String assignments, String actor, String reason, Long ttlMillis) {
        var statement = jdbc.sql("update approval set " + assignments + " where id = :id and status = 'PENDING' returning "
                        + ApprovalRow.COLUMNS)
                .param("id", row.id())
                .param("reason", reason);
        if (ttlMillis != null) {
            statement = statement.param("ttlMillis", ttlMillis);
        }
        ApprovalRow changed = statement.query(ApprovalRow::map).single();
        events.record(changed, event, actor, reason);
    }

    /**
     * Marks the open requests matching {@code condition} as EXPIRED, each with its audit event; returns
     * how many. Used by the sweeper, and wherever a stale request is met before the sweeper got to it.
     */
    private int expire(String condition, Map<String, ?> params) {
        List<ApprovalRow> expired = jdbc.sql("update approval set status = 'EXPIRED', status_reason = " + EXPIRY_REASON
                        + " where " + condition + " returning " + ApprovalRow.COLUMNS)
                .params(params)
                .query(ApprovalRow::map)
                .list();
        expired.forEach(row -> events.record(row, "EXPIRED", ApprovalEvents.SYSTEM, row.statusReason()));
        return expired.size();
    }

    /** Marks open requests past their expiry as EXPIRED (a batch at a time); returns how many. */
    int expireDue(int batch) {
        Integer count = tx.execute(status -> expire("id in (select id from approval where status in ('PENDING', 'APPROVED')"
                + " and expires_at <= now() order by expires_at limit :batch for update skip locked)", Map.of("batch", batch)));
        return count == null ? 0 : count;
    }

    /** In an update's SET, evaluated on the old row: why an open request expired. */
    private static final String EXPIRY_REASON =
            "case status when 'APPROVED' then 'approved_ttl_elapsed' else 'pending_ttl_elapsed' end";

    static Problems.ApiException notFound(UUID id) {
        return new Problems.ApiException(404, "Not found", "No approval " + id + " for this tenant.");
    }
}

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
import io.agentpdp.security.Principal;
import io.agentpdp.security.Principals;
import io.agentpdp.web.Problems;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

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
    private final JsonMapper json;
    private final Directory directory;
    private final Principals principals;
    private final ApprovalRateLimiter rateLimiter;
    private final ArgumentSchemas schemas = new ArgumentSchemas();

    Approvals(JdbcClient jdbc, TransactionTemplate tx, ApprovalEvents events, ApprovalProperties properties,
              JsonMapper json, Directory directory, Principals principals, ApprovalRateLimiter rateLimiter) {
        this.jdbc = jdbc;
        this.tx = tx;
        this.events = events;
        this.properties = properties;
        this.json = json;
        this.directory = directory;
        this.principals = principals;
        this.rateLimiter = rateLimiter;
    }

    /**
     * What the approval module needs to know from the registry when it opens a request: the principal who owns
     * an agent. Implemented by the registry ({@code registry.RegistryDirectory}). A tool's argument schema comes
     * with the decision's single context read instead ({@link #checkArguments}).
     */
    public interface Directory {

        /**
         * The principal owning the agent, or null when it has none. {@code storedOwner} is what the decision's
         * context read for it ({@code agent.owner}).
         */
        Principal agentOwner(String tenant, String agentId, String storedOwner);
    }

    /** A registered tool's argument schema (a JSON Schema object) and the version it has in the registry. */
    public record ToolFacts(String schemaVersion, String argumentSchema) {
    }

    /**
     * The action of one tool call, exactly as an approval binds it (its fingerprint, {@link ActionBinding}).
     * {@code arguments} are the call's parameters as parsed, numbers exact; null when the call has none.
     */
    public record Action(String tenant, String agentId, String taskId, String taskIntent, String tool,
                         String toolSchemaVersion, String action, String targetSystem, String targetResource,
                         String classification, JsonNode arguments) {
    }

    /** A call's arguments after {@link #checkArguments}: the tool's schema version and the approvers' view. */
    public record CheckedArguments(String toolSchemaVersion, JsonNode shown) {
    }

    /**
     * What a STEP_UP asks a human to approve: the action, the policy's reasons, who asks, how many must agree.
     * {@code idempotencyKey} is the enforcement point's key of the decide attempt (null when it sent none): while
     * the request it opened is open, the same key names that request within tenant and agent ({@link #request}).
     */
    public record Request(Action action, JsonNode shownArguments, List<String> policyReasons, int requiredApprovals,
                          Principal requestedBy, String storedAgentOwner, UUID decisionId, String idempotencyKey) {
    }

    /** No request was opened, for {@link #reason()} (the DENY reason): the STEP_UP becomes a recorded DENY. */
    public static class RefusedException extends RuntimeException {
        private final String reason;

        RefusedException(String reason, String message) {
            super(message);
            this.reason = reason;
        }

        public String reason() {
            return reason;
        }
    }

    /** More approval requests than {@code pdp.approval.creation-*} allows for this agent or enforcement point. */
    public static final class RateLimitedException extends RefusedException {
        RateLimitedException(String message) {
            super("approval_rate_limited", message);
        }
    }

    /** The idempotency key already names an open request of this agent for a different action. */
    public static final class IdempotencyKeyReusedException extends RefusedException {
        IdempotencyKeyReusedException(String message) {
            super("idempotency_key_reused", message);
        }
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
     * Checks a call's arguments before policy: every number must be one a double holds exactly (RFC 8785
     * hashes numbers as doubles), and when the tool has a registered argument schema they must be valid
     * against it ({@code facts}: the registered tool's schema and version, as the decision's context read them;
     * null when the tool has no schema). Throws a 400 problem otherwise. Returns the schema version the approval binds and the
     * arguments as approvers may see them (sensitive fields redacted).
     */
    public CheckedArguments checkArguments(String tool, ToolFacts facts, JsonNode arguments) {
        String inexact = ActionBinding.inexactNumber(arguments);
        if (inexact != null) {
            throw new Problems.ApiException(400, "Invalid request", "The number at 'arguments" + inexact
                    + "' cannot be represented exactly as an IEEE 754 double (RFC 8785); send it as a string.");
        }
        if (facts == null || facts.argumentSchema() == null) {
            return new CheckedArguments(null, arguments);
        }
        // A call without arguments has an empty parameter set: the schema's required fields still apply.
        JsonNode schema = schemas.parse(facts.argumentSchema(), json);
        List<String> violations = schemas.violations(schema, arguments == null ? json.createObjectNode() : arguments);
        if (!violations.isEmpty()) {
            throw new Problems.ApiException(400, "Invalid request", "The arguments do not match the argument schema of tool '"
                    + tool + "' (version " + facts.schemaVersion() + "): " + String.join("; ", violations));
        }
        return new CheckedArguments(facts.schemaVersion(), ArgumentSchemas.redacted(schema, arguments));
    }

    /** The fingerprint an approval for {@code action} carries: RFC 8785 canonical SHA-256 ({@link ActionBinding}). */
    public String fingerprint(Action action) {
        return ActionBinding.fingerprint(json, action);
    }

    /**
     * Why a presented approval does not cover {@code action} (the policy says only {@code approval_invalid}):
     * {@code approval_unknown} (none of this tenant, {@code status} null), {@code approval_consumed},
     * {@code approval_expired}, {@code approval_denied}, {@code approval_pending}, {@code approval_mismatch}
     * (approved for another action) or {@code approval_not_approved}.
     */
    public String whyInvalid(String status, boolean expired, boolean consumed, String storedFingerprint, Action action) {
        if (status == null) {
            return "approval_unknown";
        }
        if ("CONSUMED".equals(status) || consumed) {
            return "approval_consumed";
        }
        if ("EXPIRED".equals(status) || expired) {
            return "approval_expired";
        }
        if ("DENIED".equals(status)) {
            return "approval_denied";
        }
        if ("PENDING".equals(status)) {
            return "approval_pending";
        }
        return storedFingerprint.equals(fingerprint(action)) ? "approval_not_approved" : "approval_mismatch";
    }

    /**
     * Opens the approval request for an action, or returns the one already open for the same
     * fingerprint (idempotent: one open request per action). A stale open request past its expiry is
     * expired first, so that it never blocks a new one. With an idempotency key, the open request of the same
     * tenant and agent under that key is returned when it binds the same fingerprint; when it binds another
     * action the call is refused ({@link IdempotencyKeyReusedException}): a key never fetches another action's
     * approval, and lying about it gains nothing but the caller's own request for the very same action. A new request takes a token from the agent's and
     * the requesting enforcement point's creation buckets, or is refused ({@link RateLimitedException}).
     * Joins the caller's transaction: the decision flow opens it in the transaction that records the
     * STEP_UP, so a STEP_UP whose record fails leaves no request behind.
     */
    public Ticket request(Request r) {
        Action a = r.action();
        String fingerprint = fingerprint(a);
        Principal owner = directory.agentOwner(a.tenant(), a.agentId(), r.storedAgentOwner());
        String key = r.idempotencyKey();
        ApprovalRow row = tx.execute(status -> {
            expire("tenant_id = :tenant and fingerprint = :fingerprint and status in ('PENDING', 'APPROVED')"
                    + " and expires_at <= now()", Map.of("tenant", a.tenant(), "fingerprint", fingerprint));
            if (key != null) {
                expire("tenant_id = :tenant and agent_id = :agent and idempotency_key = :key"
                        + " and status in ('PENDING', 'APPROVED') and expires_at <= now()",
                        Map.of("tenant", a.tenant(), "agent", a.agentId(), "key", key));
            }
            // Another request may win the insert and then be decided at once: look again a few times.
            for (int attempt = 0; attempt < 3; attempt++) {
                Optional<ApprovalRow> keyed = key == null ? Optional.empty() : openByKey(a.tenant(), a.agentId(), key);
                if (keyed.isPresent() && !keyed.get().fingerprint().equals(fingerprint)) {
                    throw new IdempotencyKeyReusedException("idempotency key of agent " + a.agentId()
                            + " already names open approval " + keyed.get().id() + " for another action");
                }
                if (keyed.isPresent()) {
                    return keyed.get();
                }
                Optional<ApprovalRow> open = open(a.tenant(), fingerprint);
                if (open.isPresent()) {
                    return open.get();
                }
                if (attempt == 0 && !rateLimiter.tryAcquire(a.tenant(), a.agentId(), r.requestedBy().id())) {
                    throw new RateLimitedException("approval requests of agent " + a.agentId() + " or enforcement point "
                            + r.requestedBy().id() + " exceed the creation rate");
                }
                Optional<ApprovalRow> inserted = insert(r, fingerprint, owner);
                if (inserted.isPresent()) {
                    events.record(inserted.get(), "REQUESTED", r.requestedBy().id(), "decision " + r.decisionId());
                    return inserted.get();
                }
            }
            throw new IllegalStateException("No open approval request could be created or found");
        });
        return new Ticket(row.id(), row.status(), row.expiresAt(), row.requiredApprovals());
    }

    private Optional<ApprovalRow> open(String tenant, String fingerprint) {
        return jdbc.sql("select " + ApprovalRow.COLUMNS + " from approval"
                        + " where tenant_id = :tenant and fingerprint = :fingerprint and status in ('PENDING', 'APPROVED')"
                        + " and expires_at > now()")
                .param("tenant", tenant)
                .param("fingerprint", fingerprint)
                .query(ApprovalRow::map)
                .optional();
    }

    private Optional<ApprovalRow> openByKey(String tenant, String agentId, String key) {
        return jdbc.sql("select " + ApprovalRow.COLUMNS + " from approval where tenant_id = :tenant and agent_id = :agent"
                        + " and idempotency_key = :key and status in ('PENDING', 'APPROVED') and expires_at > now()")
                .param("tenant", tenant)
                .param("agent", agentId)
                .param("key", key)
                .query(ApprovalRow::map)
                .optional();
    }

    private Optional<ApprovalRow> insert(Request r, String fingerprint, Principal owner) {
        Action a = r.action();
        return jdbc.sql("""
                insert into approval (id, tenant_id, agent_id, task_id, tool, action, target_hash, classification,
                    fingerprint, status, required_approvals, requested_by, agent_owner, decision_id, expires_at,
                    task_intent, tool_schema_version, target_system, target_resource, arguments, policy_reasons,
                    idempotency_key)
                values (:id, :tenant, :agent, :task, :tool, :action, :targetHash, :classification, :fingerprint,
                    'PENDING', :required, :requestedBy, :owner, :decision, now() + :ttlMillis * interval '1 millisecond',
                    :intent, :schemaVersion, :system, :resource, cast(:arguments as jsonb), :reasons, :key)
                on conflict do nothing
                returning\s""" + ApprovalRow.COLUMNS)
                .param("id", UUID.randomUUID())
                .param("tenant", a.tenant())
                .param("agent", a.agentId())
                .param("task", a.taskId())
                .param("tool", a.tool())
                .param("action", a.action())
                .param("targetHash", ActionBinding.targetHash(json, a))
                .param("classification", a.classification())
                .param("fingerprint", fingerprint)
                .param("required", r.requiredApprovals())
                .param("requestedBy", r.requestedBy().id())
                .param("owner", owner == null ? null : owner.id())
                .param("decision", r.decisionId())
                .param("ttlMillis", properties.pendingTtl().toMillis())
                .param("intent", a.taskIntent())
                .param("schemaVersion", a.toolSchemaVersion())
                .param("system", a.targetSystem())
                .param("resource", a.targetResource())
                .param("arguments", r.shownArguments() == null ? null : json.writeValueAsString(r.shownArguments()))
                .param("reasons", r.policyReasons().toArray(String[]::new))
                .param("key", r.idempotencyKey())
                .query(ApprovalRow::map)
                .optional();
    }

    /**
     * Spends an approved request for the action with {@code fingerprint}: one conditional update, so
     * of any number of concurrent attempts exactly one succeeds. Call it before minting a credential.
     */
    public Consumption consume(Action action, UUID id, Principal consumer, UUID decisionId) {
        String tenant = action.tenant();
        String fingerprint = fingerprint(action);
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
                events.record(consumed.get(), "CONSUMED", consumer.id(), "decision " + decisionId);
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
     * Gives an approval spent by {@code decisionId} back, because that decision's credential could not be
     * minted: the approved action may be retried once more without a new vote, within the approval's
     * remaining lifetime. Only once per approval ({@code mint_retries}); returns whether it was given back.
     */
    public boolean restoreAfterMintFailure(String tenant, UUID id, UUID decisionId) {
        Boolean restored = tx.execute(status -> {
            Optional<ApprovalRow> row = jdbc.sql("""
                    update approval set status = 'APPROVED', consumed_at = null, mint_retries = mint_retries + 1,
                        status_reason = :reason
                    where id = :id and tenant_id = :tenant and status = 'CONSUMED' and status_reason = :consumedBy
                      and mint_retries < 1
                    returning\s""" + ApprovalRow.COLUMNS)
                    .param("reason", "credential_unavailable: one retry granted")
                    .param("id", id)
                    .param("tenant", tenant)
                    .param("consumedBy", "consumed by decision " + decisionId)
                    .query(ApprovalRow::map)
                    .optional();
            row.ifPresent(r -> events.record(r, "RESTORED", ApprovalEvents.PDP,
                    "decision " + decisionId + ": credential could not be minted"));
            return row.isPresent();
        });
        return Boolean.TRUE.equals(restored);
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
        return ApprovalView.of(json, row, votes);
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
                .map(row -> ApprovalView.of(json, row, null))
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
            if (isRequesterOrOwner(caller.principal(), row)) {
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
                    .param("approver", caller.principal().id())
                    .param("verdict", approve ? "APPROVE" : "DENY")
                    .param("comment", comment)
                    .update();
            if (inserted == 0) {
                return Vote.DUPLICATE;
            }
            events.record(row, "VOTED", caller.principal().id(), (approve ? "approve: " : "deny: ") + comment);
            if (!approve) {
                transition(row, "DENIED", "status = 'DENIED', decided_at = now(), status_reason = :reason",
                        caller.principal().id(), comment, null);
                return Vote.RECORDED;
            }
            long approvals = jdbc.sql("select count(*) from approval_vote where approval_id = :id and verdict = 'APPROVE'")
                    .param("id", id)
                    .query(Long.class)
                    .single();
            if (approvals >= row.requiredApprovals()) {
                transition(row, "APPROVED", "status = 'APPROVED', decided_at = now(), status_reason = :reason,"
                                + " expires_at = now() + :ttlMillis * interval '1 millisecond'",
                        caller.principal().id(), comment, properties.approvedTtl().toMillis());
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

    /**
     * Separation of duties, on canonical principals only: {@code Alice} is {@code alice} where the issuer
     * folds case. A stored party that is no canonical principal any more counts as the voter (fail closed).
     */
    private boolean isRequesterOrOwner(Principal voter, ApprovalRow row) {
        for (String party : new String[] {row.requestedBy(), row.agentOwner()}) {
            if (party == null) {
                continue;
            }
            try {
                if (voter.equals(principals.stored(party))) {
                    return true;
                }
            } catch (IllegalArgumentException e) {
                return true;
            }
        }
        return false;
    }

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

    /**
     * Reminds the approvers of pending requests that expire within {@code pdp.approval.reminder-before}: one
     * REMINDER event (and notification) per request, ever. Returns how many.
     */
    int remindDue(int batch) {
        Integer count = tx.execute(status -> {
            List<ApprovalRow> due = jdbc.sql("update approval set reminded_at = now() where id in (select id from approval"
                            + " where status = 'PENDING' and reminded_at is null and expires_at > now()"
                            + " and expires_at <= now() + :beforeMillis * interval '1 millisecond'"
                            + " order by expires_at limit :batch for update skip locked) returning " + ApprovalRow.COLUMNS)
                    .param("beforeMillis", properties.reminderBefore().toMillis())
                    .param("batch", batch)
                    .query(ApprovalRow::map)
                    .list();
            due.forEach(row -> events.record(row, "REMINDER", ApprovalEvents.SYSTEM, "expires at " + row.expiresAt()));
            return due.size();
        });
        return count == null ? 0 : count;
    }

    /** In an update's SET, evaluated on the old row: why an open request expired. */
    private static final String EXPIRY_REASON =
            "case status when 'APPROVED' then 'approved_ttl_elapsed' else 'pending_ttl_elapsed' end";

    static Problems.ApiException notFound(UUID id) {
        return new Problems.ApiException(404, "Not found", "No approval " + id + " for this tenant.");
    }
}

package io.agentpdp.audit;

import java.nio.charset.StandardCharsets;
import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

import com.google.common.hash.Hashing;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

import io.agentpdp.jdbc.NamedStatement;

/**
 * The decision audit trail. Every decision is written here before its response leaves the PDP; a
 * minted credential is recorded in the same statement (its accessor for revocation, only a hash of it
 * in the audit row). The secret itself is never stored. A grant is never recorded for an agent whose
 * quarantine committed first ({@link Result#AGENT_QUARANTINED}).
 */
@Component
public class AuditTrail {

    private final JdbcClient jdbc;

    AuditTrail(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    /** One decision as it is recorded. */
    public record DecisionEntry(UUID id, String tenant, String agentId, String taskId, UUID parentDecisionId,
                                int chainDepth, String tool, String action, String targetSystem,
                                String targetResource, String classificationDeclared, String classificationStored,
                                String classificationEffective, String outcome, List<String> reasons, Cause cause,
                                List<String> obligations, UUID approvalId, String policyRevision, String caller,
                                CredentialEntry credential, String traceId, Instant decidedAt,
                                Boolean identityVerified, String workloadSpiffeId) {
    }

    /**
     * What was issued with a decision: the accessor (for revocation) and its limits, never the token. A
     * decision that confirmed a held credential instead ({@link #reused(UUID, String, List, int, Instant, int, boolean)})
     * names the issuing decision and that credential's accessor hash, and issues nothing.
     */
    public record CredentialEntry(String accessor, List<String> policies, int ttlSeconds, Instant expiresAt,
                                  int numUses, boolean wrapped, UUID reusedFrom, String reusedAccessorHash) {

        public static CredentialEntry issued(String accessor, List<String> policies, int ttlSeconds, Instant expiresAt,
                                             int numUses, boolean wrapped) {
            return new CredentialEntry(accessor, policies, ttlSeconds, expiresAt, numUses, wrapped, null, null);
        }

        public static CredentialEntry reused(UUID issuingDecision, String accessorHash, List<String> policies,
                                             int remainingSeconds, Instant expiresAt, int numUses, boolean wrapped) {
            return new CredentialEntry(null, policies, remainingSeconds, expiresAt, numUses, wrapped, issuingDecision,
                    accessorHash);
        }
    }

    /**
     * What a decision's outcome rests on. Only {@link #POLICY} (the policy's verdict about a registered
     * agent) feeds the automatic quarantine triggers: a dependency failure, a refused request, the DENY of
     * an agent already quarantined or a decision about an unregistered id says nothing about how the agent
     * behaves (OWASP ASI08: an outage must not cascade into quarantines).
     */
    public enum Cause {
        POLICY, DEPENDENCY_FAILURE, REFUSAL, QUARANTINE, UNREGISTERED_AGENT;

        public String wire() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Cause fromWire(String wire) {
            return wire == null ? null : valueOf(wire.toUpperCase(Locale.ROOT));
        }
    }

    /** What became of a decision given to {@link #recordDecision(DecisionEntry)}. */
    public enum Result {
        /** Stored, with its credential if any. */
        RECORDED,
        /**
         * Nothing stored: the decision grants (ALLOW/CONSTRAIN) to an agent whose quarantine committed before
         * it could be recorded. The caller must answer DENY and not hand out what it minted.
         */
        AGENT_QUARANTINED
    }

    /** A stored decision as read back: the credential accessor only as a hash. */
    public record StoredDecision(DecisionEntry entry, String accessorHash) {
    }

    private static final NamedStatement RECORD_DECISION = NamedStatement.parse("""
                with guard as (
                    -- CASE, not AND: only a grant waits on the agent's quarantine lock.
                    select case when :outcome in ('ALLOW', 'CONSTRAIN') then quarantine_holds(:tenant, :agent)
                                else false end as quarantined),
                decision as (
                    insert into decision_record (id, tenant_id, agent_id, task_id, parent_decision_id, chain_depth, tool,
                        action, target_system, target_resource, classification_declared, classification_stored,
                        classification_effective, outcome, reasons, cause, obligations, approval_id, policy_revision, caller,
                        credential_accessor_hash, credential_ttl_seconds, credential_expires_at, credential_num_uses,
                        credential_wrapped, credential_reused_from, trace_id, decided_at, identity_verified,
                        workload_spiffe_id)
                    select :id, :tenant, :agent, :task, :parent, :depth, :tool, :action, :system, :resource, :declared,
                        :stored, :effective, :outcome, :reasons, :cause, :obligations, :approval, :revision, :caller,
                        :accessorHash, :ttl, :expiresAt, :uses, :wrapped, :reusedFrom, :traceId, :decidedAt,
                        :identityVerified, :spiffeId
                    from guard where not guard.quarantined
                    returning id),
                -- Committed unlinked: the linker appends it to the tenant's chain off the request path (AuditLinker).
                pending as (
                    insert into audit_pending_link (tenant_id, decision_id)
                    select :tenant, id from decision),
                -- A credential minted for a human approval is single-use by design and never reusable.
                credential as (
                    insert into issued_credential (accessor, tenant_id, agent_id, task_id, decision_id, policies, issued_at,
                        expires_at, num_uses, wrapped, reusable, revoke_requested_at)
                    select :accessor, :tenant, :agent, :task, id, :policies, :decidedAt, :expiresAt, :uses, :wrapped,
                        cast(:approval as uuid) is null, case when :outcome = 'DENY' then now() end
                    from decision where cast(:accessor as text) is not null)
                select quarantined from guard
                """);

    /**
     * Writes the decision (and its credential, if any) in one round trip, committed unlinked: no row is
     * shared with other decisions of the tenant, and {@link AuditLinker} appends it to the tenant's hash chain
     * off the request path (within {@code pdp.audit.link-interval}). Throws if it could not be stored. A grant first waits for any quarantine of its
     * agent being committed (db function {@code quarantine_holds}) and is refused if the agent is
     * quarantined. A credential recorded with a DENY was minted but withheld: its row is marked for
     * revocation at once, so the quarantine's retry revokes it if the caller's own revocation fails.
     */
    public Result recordDecision(DecisionEntry entry) {
        DecisionEntry d = AuditChain.normalised(entry);
        CredentialEntry c = d.credential();
        String accessorHash = c == null ? null : c.reusedFrom() != null ? c.reusedAccessorHash() : sha256(c.accessor());
        boolean quarantined = jdbc.sql(RECORD_DECISION.sql())
                .params(RECORD_DECISION.bind()
                        .set("id", d.id())
                        .set("tenant", d.tenant())
                        .set("agent", d.agentId())
                        .set("task", d.taskId())
                        .set("parent", d.parentDecisionId())
                        .set("depth", d.chainDepth())
                        .set("tool", d.tool())
                        .set("action", d.action())
                        .set("system", d.targetSystem())
                        .set("resource", d.targetResource())
                        .set("declared", d.classificationDeclared())
                        .set("stored", d.classificationStored())
                        .set("effective", d.classificationEffective())
                        .set("outcome", d.outcome())
                        .set("reasons", d.reasons().toArray(String[]::new))
                        .set("cause", d.cause() == null ? null : d.cause().wire())
                        .set("obligations", d.obligations().toArray(String[]::new))
                        .set("approval", d.approvalId())
                        .set("revision", d.policyRevision())
                        .set("caller", d.caller())
                        .set("accessorHash", accessorHash)
                        .set("ttl", c == null ? null : c.ttlSeconds())
                        .set("expiresAt", c == null ? null : Timestamp.from(c.expiresAt()))
                        .set("uses", c == null ? null : c.numUses())
                        .set("wrapped", c == null ? null : c.wrapped())
                        .set("reusedFrom", c == null ? null : c.reusedFrom())
                        .set("traceId", d.traceId())
                        .set("identityVerified", d.identityVerified())
                        .set("spiffeId", d.workloadSpiffeId())
                        .set("decidedAt", Timestamp.from(d.decidedAt()))
                        .set("accessor", c == null ? null : c.accessor())
                        .set("policies", c == null ? new String[0] : c.policies().toArray(String[]::new))
                        .values())
                .query(Boolean.class)
                .single();
        return quarantined ? Result.AGENT_QUARANTINED : Result.RECORDED;
    }

    /** The decision with this id, if it belongs to {@code tenant}. */
    public Optional<StoredDecision> findDecision(String tenant, UUID id) {
        return jdbc.sql("select * from decision_record where tenant_id = :tenant and id = :id")
                .param("tenant", tenant)
                .param("id", id)
                .query((rs, row) -> read(rs))
                .optional();
    }

    /** The tenant's chain links as stored, by seq (call inside a transaction to read one snapshot). */
    Stream<AuditChain.Link> links(String tenant) {
        // A link whose record was deleted drops out of the join and shows as a missing seq.
        return jdbc.sql("""
                select l.seq as link_seq, l.record_hash as link_hash, r.*
                from audit_link l join decision_record r on r.id = l.decision_id
                where l.tenant_id = ? order by l.seq""")
                .param(tenant)
                .query((rs, row) -> new AuditChain.Link(rs.getLong("link_seq"), rs.getString("link_hash"), read(rs)))
                .stream();
    }

    /** The tenant's records committed but not yet linked, and the oldest one's decision time. */
    record Pending(long count, Instant oldestDecidedAt) {
    }

    Pending pending(String tenant) {
        return jdbc.sql("""
                select count(*) as pending, min(r.decided_at) as oldest
                from audit_pending_link p join decision_record r on r.id = p.decision_id
                where p.tenant_id = ?""")
                .param(tenant)
                .query((rs, row) -> new Pending(rs.getLong("pending"),
                        rs.getTimestamp("oldest") == null ? null : rs.getTimestamp("oldest").toInstant()))
                .single();
    }

    /**
     * A record of the tenant that is neither linked nor pending (written around the PDP, or its pending entry
     * deleted), if any: the oldest such one.
     */
    Optional<UUID> strayRecord(String tenant) {
        return jdbc.sql("""
                select r.id from decision_record r
                where r.tenant_id = ?
                  and not exists (select 1 from audit_link l where l.decision_id = r.id)
                  and not exists (select 1 from audit_pending_link p where p.decision_id = r.id)
                order by r.decided_at limit 1""")
                .param(tenant)
                .query(UUID.class)
                .optional();
    }

    /** The tenant's stored chain head, or null if it has none. */
    AuditChain.Head head(String tenant) {
        return jdbc.sql("select seq, last_hash from audit_chain_head where tenant_id = ?")
                .param(tenant)
                .query((rs, row) -> new AuditChain.Head(rs.getLong("seq"), rs.getString("last_hash")))
                .optional()
                .orElse(null);
    }

    static StoredDecision read(ResultSet rs) throws SQLException {
        String accessorHash = rs.getString("credential_accessor_hash");
        CredentialEntry credential = accessorHash == null ? null : new CredentialEntry(null, List.of(),
                rs.getInt("credential_ttl_seconds"), rs.getTimestamp("credential_expires_at").toInstant(),
                rs.getInt("credential_num_uses"), rs.getBoolean("credential_wrapped"),
                rs.getObject("credential_reused_from", UUID.class), null);
        DecisionEntry entry = new DecisionEntry(
                rs.getObject("id", UUID.class), rs.getString("tenant_id"), rs.getString("agent_id"),
                rs.getString("task_id"), rs.getObject("parent_decision_id", UUID.class), rs.getInt("chain_depth"),
                rs.getString("tool"), rs.getString("action"), rs.getString("target_system"),
                rs.getString("target_resource"), rs.getString("classification_declared"),
                rs.getString("classification_stored"), rs.getString("classification_effective"),
                rs.getString("outcome"), strings(rs.getArray("reasons")), Cause.fromWire(rs.getString("cause")),
                strings(rs.getArray("obligations")),
                rs.getObject("approval_id", UUID.class), rs.getString("policy_revision"), rs.getString("caller"),
                credential, rs.getString("trace_id"), rs.getTimestamp("decided_at").toInstant(),
                rs.getObject("identity_verified", Boolean.class), rs.getString("workload_spiffe_id"));
        return new StoredDecision(entry, accessorHash);
    }

    private static List<String> strings(Array array) throws SQLException {
        return array == null ? List.of() : Arrays.asList((String[]) array.getArray());
    }

    static String sha256(String value) {
        return Hashing.sha256().hashString(value, StandardCharsets.UTF_8).toString();
    }
}

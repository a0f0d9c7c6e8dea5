package io.agentpdp.audit;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

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

    /**
     * Writes the decision (and its credential, if any) in one round trip, as the next link of the
     * tenant's hash chain; throws if it could not be stored. A grant first waits for any quarantine of its
     * agent being committed (db function {@code quarantine_holds}) and is refused if the agent is
     * quarantined. A credential recorded with a DENY was minted but withheld: its row is marked for
     * revocation at once, so the quarantine's retry revokes it if the caller's own revocation fails.
     */
    public Result recordDecision(DecisionEntry entry) {
        DecisionEntry d = AuditChain.normalised(entry);
        CredentialEntry c = d.credential();
        String accessorHash = c == null ? null : c.reusedFrom() != null ? c.reusedAccessorHash() : sha256(c.accessor());
        boolean quarantined = jdbc.sql("""
                with guard as (
                    -- CASE, not AND: only a grant waits on the agent's quarantine lock.
                    select case when :outcome in ('ALLOW', 'CONSTRAIN') then quarantine_holds(:tenant, :agent)
                                else false end as quarantined),
                head as (
                    insert into audit_chain_head as h (tenant_id, seq, last_hash)
                    select :tenant, 1, encode(sha256(convert_to('genesis' || :content, 'UTF8')), 'hex')
                    from guard where not guard.quarantined
                    on conflict (tenant_id) do update
                    set seq = h.seq + 1, last_hash = encode(sha256(convert_to(h.last_hash || :content, 'UTF8')), 'hex')
                    returning seq, last_hash),
                decision as (
                    insert into decision_record (id, tenant_id, agent_id, task_id, parent_decision_id, chain_depth, tool,
                        action, target_system, target_resource, classification_declared, classification_stored,
                        classification_effective, outcome, reasons, cause, obligations, approval_id, policy_revision, caller,
                        credential_accessor_hash, credential_ttl_seconds, credential_expires_at, credential_num_uses,
                        credential_wrapped, credential_reused_from, trace_id, decided_at, chain_seq, record_hash,
                        identity_verified, workload_spiffe_id)
                    select :id, :tenant, :agent, :task, :parent, :depth, :tool, :action, :system, :resource, :declared,
                        :stored, :effective, :outcome, :reasons, :cause, :obligations, :approval, :revision, :caller,
                        :accessorHash, :ttl, :expiresAt, :uses, :wrapped, :reusedFrom, :traceId, :decidedAt, head.seq,
                        head.last_hash, :identityVerified, :spiffeId
                    from head
                    returning id),
                -- A credential minted for a human approval is single-use by design and never reusable.
                credential as (
                    insert into issued_credential (accessor, tenant_id, agent_id, task_id, decision_id, policies, issued_at,
                        expires_at, num_uses, wrapped, reusable, revoke_requested_at)
                    select :accessor, :tenant, :agent, :task, id, :policies, :decidedAt, :expiresAt, :uses, :wrapped,
                        cast(:approval as uuid) is null, case when :outcome = 'DENY' then now() end
                    from decision where cast(:accessor as text) is not null)
                select quarantined from guard
                """)
                .param("id", d.id())
                .param("tenant", d.tenant())
                .param("agent", d.agentId())
                .param("task", d.taskId())
                .param("parent", d.parentDecisionId())
                .param("depth", d.chainDepth())
                .param("tool", d.tool())
                .param("action", d.action())
                .param("system", d.targetSystem())
                .param("resource", d.targetResource())
                .param("declared", d.classificationDeclared())
                .param("stored", d.classificationStored())
                .param("effective", d.classificationEffective())
                .param("outcome", d.outcome())
                .param("reasons", d.reasons().toArray(String[]::new))
                .param("cause", d.cause() == null ? null : d.cause().wire())
                .param("obligations", d.obligations().toArray(String[]::new))
                .param("approval", d.approvalId())
                .param("revision", d.policyRevision())
                .param("caller", d.caller())
                .param("accessorHash", accessorHash)
                .param("content", AuditChain.content(d, accessorHash))
                .param("ttl", c == null ? null : c.ttlSeconds())
                .param("expiresAt", c == null ? null : Timestamp.from(c.expiresAt()))
                .param("uses", c == null ? null : c.numUses())
                .param("wrapped", c == null ? null : c.wrapped())
                .param("reusedFrom", c == null ? null : c.reusedFrom())
                .param("traceId", d.traceId())
                .param("identityVerified", d.identityVerified())
                .param("spiffeId", d.workloadSpiffeId())
                .param("decidedAt", Timestamp.from(d.decidedAt()))
                .param("accessor", c == null ? null : c.accessor())
                .param("policies", c == null ? new String[0] : c.policies().toArray(String[]::new))
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
        return jdbc.sql("select * from decision_record where tenant_id = ? order by chain_seq")
                .param(tenant)
                .query((rs, row) -> new AuditChain.Link(rs.getLong("chain_seq"), rs.getString("record_hash"), read(rs)))
                .stream();
    }

    /** The tenant's stored chain head, or null if it has none. */
    AuditChain.Head head(String tenant) {
        return jdbc.sql("select seq, last_hash from audit_chain_head where tenant_id = ?")
                .param(tenant)
                .query((rs, row) -> new AuditChain.Head(rs.getLong("seq"), rs.getString("last_hash")))
                .optional()
                .orElse(null);
    }

    private static StoredDecision read(ResultSet rs) throws SQLException {
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
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

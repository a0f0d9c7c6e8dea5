package io.agentpdp.approval;

import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * One approval request as stored. {@code status} is the effective status: an open request whose
 * expiry has passed reads as EXPIRED even before the sweeper has marked it. {@code requestedBy},
 * {@code agentOwner} are principal ids; {@code arguments} is the redacted JSON text approvers see.
 */
record ApprovalRow(UUID id, String tenant, String agentId, String taskId, String tool, String action,
                   String targetHash, String classification, String fingerprint, String status,
                   int requiredApprovals, String requestedBy, String agentOwner, UUID decisionId,
                   Instant createdAt, Instant expiresAt, Instant decidedAt, Instant consumedAt,
                   String statusReason, String taskIntent, String toolSchemaVersion, String targetSystem,
                   String targetResource, String arguments, List<String> policyReasons, int approvalsSoFar,
                   int mintRetries) {

    static final String PENDING = "PENDING";
    static final String APPROVED = "APPROVED";
    static final String DENIED = "DENIED";
    static final String EXPIRED = "EXPIRED";
    static final String CONSUMED = "CONSUMED";

    /** The columns every query returns, the effective status last. */
    static final String COLUMNS = """
            id, tenant_id, agent_id, task_id, tool, action, target_hash, classification, fingerprint,
            required_approvals, requested_by, agent_owner, decision_id, created_at, expires_at, decided_at,
            consumed_at, status_reason, task_intent, tool_schema_version, target_system, target_resource,
            cast(arguments as text) as arguments_text, policy_reasons, mint_retries,
            (select count(*) from approval_vote v where v.approval_id = approval.id and v.verdict = 'APPROVE')
                as approvals_so_far,
            case when status in ('PENDING', 'APPROVED') and expires_at <= now() then 'EXPIRED' else status end as effective_status
            """;

    static ApprovalRow map(ResultSet rs, int row) throws SQLException {
        return new ApprovalRow(rs.getObject("id", UUID.class), rs.getString("tenant_id"), rs.getString("agent_id"),
                rs.getString("task_id"), rs.getString("tool"), rs.getString("action"), rs.getString("target_hash"),
                rs.getString("classification"), rs.getString("fingerprint"), rs.getString("effective_status"),
                rs.getInt("required_approvals"), rs.getString("requested_by"), rs.getString("agent_owner"),
                rs.getObject("decision_id", UUID.class), instant(rs.getTimestamp("created_at")),
                instant(rs.getTimestamp("expires_at")), instant(rs.getTimestamp("decided_at")),
                instant(rs.getTimestamp("consumed_at")), rs.getString("status_reason"), rs.getString("task_intent"),
                rs.getString("tool_schema_version"), rs.getString("target_system"), rs.getString("target_resource"),
                rs.getString("arguments_text"), strings(rs.getArray("policy_reasons")), rs.getInt("approvals_so_far"),
                rs.getInt("mint_retries"));
    }

    private static List<String> strings(Array array) throws SQLException {
        return array == null ? List.of() : List.of((String[]) array.getArray());
    }

    private static Instant instant(Timestamp timestamp) {
        return timestamp == null ? null : timestamp.toInstant();
    }
}

package io.agentpdp.approval;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

import com.fasterxml.jackson.annotation.JsonInclude;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** An approval request as the API shows it (openapi.yaml: Approval). */
record ApprovalView(UUID id, String status, boolean retryDecision, String agentId, String taskId, String tool,
                    String action, String classification, String targetHash, String taskIntent,
                    String toolSchemaVersion, Target target, JsonNode arguments, List<String> policyReasons,
                    int requiredApprovals, int approvalsSoFar, String requestedBy, String agentOwner, UUID decisionId,
                    Instant createdAt, Instant expiresAt, Instant decidedAt, Instant consumedAt, String statusReason,
                    @JsonInclude(JsonInclude.Include.NON_NULL) List<Vote> votes) {

    record Vote(String approver, String verdict, String comment, Instant at) {
    }

    record Target(String system, String resource) {
    }

    /** One page of {@code GET /v1/approvals} (openapi.yaml: ApprovalPage). */
    record Page(List<ApprovalView> items, int page, int size, long total) {
    }

    static ApprovalView of(JsonMapper json, ApprovalRow row, List<Vote> votes) {
        return new ApprovalView(row.id(), row.status(), ApprovalRow.APPROVED.equals(row.status()), row.agentId(),
                row.taskId(), row.tool(), row.action(), row.classification(), row.targetHash(), row.taskIntent(),
                row.toolSchemaVersion(), new Target(row.targetSystem(), row.targetResource()),
                row.arguments() == null ? null : json.readTree(row.arguments()), row.policyReasons(),
                row.requiredApprovals(), row.approvalsSoFar(), row.requestedBy(), row.agentOwner(), row.decisionId(),
                row.createdAt(), row.expiresAt(), row.decidedAt(), row.consumedAt(), row.statusReason(), votes);
    }
}

package io.agentpdp.approval;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

import com.fasterxml.jackson.annotation.JsonInclude;

/** An approval request as the API shows it (openapi.yaml: Approval). */
record ApprovalView(UUID id, String status, boolean retryDecision, String agentId, String taskId, String tool,
                    String action, String classification, String targetHash, int requiredApprovals,
                    String requestedBy, String agentOwner, UUID decisionId, Instant createdAt, Instant expiresAt,
                    Instant decidedAt, Instant consumedAt, String statusReason,
                    @JsonInclude(JsonInclude.Include.NON_NULL) List<Vote> votes) {

    record Vote(String approver, String verdict, String comment, Instant at) {
    }

    /** One page of {@code GET /v1/approvals} (openapi.yaml: ApprovalPage). */
    record Page(List<ApprovalView> items, int page, int size, long total) {
    }

    static ApprovalView of(ApprovalRow row, List<Vote> votes) {
        return new ApprovalView(row.id(), row.status(), ApprovalRow.APPROVED.equals(row.status()), row.agentId(),
                row.taskId(), row.tool(), row.action(), row.classification(), row.targetHash(),
                row.requiredApprovals(), row.requestedBy(), row.agentOwner(), row.decisionId(), row.createdAt(),
                row.expiresAt(), row.decidedAt(), row.consumedAt(), row.statusReason(), votes);
    }
}

package io.agentpdp.decision;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

import io.agentpdp.audit.AuditTrail;

/** A stored decision as GET /v1/decisions/{id} shows it (openapi.yaml: DecisionRecord). */
record DecisionView(UUID decisionId, String tenant, String agentId, String taskId, UUID parentDecisionId,
                    int chainDepth, String tool, String action, String targetSystem, String targetResource,
                    Classifications classification, String outcome, List<String> reasons, List<String> obligations,
                    CredentialSummary credential, UUID approvalId, String policyRevision, String caller,
                    Instant decidedAt, WorkloadIdentity workloadIdentity) {

    /** The agent's JWT-SVID as verified for this decision (null for records written before V23). */
    record WorkloadIdentity(boolean verified, String spiffeId) {
    }

    record Classifications(String declared, String stored, String effective) {
    }

    record CredentialSummary(String accessorHash, int ttlSeconds, Instant expiresAt, int numUses, boolean wrapped,
                             UUID reusedFromDecisionId) {
    }

    static DecisionView of(AuditTrail.StoredDecision stored) {
        AuditTrail.DecisionEntry d = stored.entry();
        AuditTrail.CredentialEntry c = d.credential();
        return new DecisionView(d.id(), d.tenant(), d.agentId(), d.taskId(), d.parentDecisionId(), d.chainDepth(),
                d.tool(), d.action(), d.targetSystem(), d.targetResource(),
                new Classifications(d.classificationDeclared(), d.classificationStored(), d.classificationEffective()),
                d.outcome(), d.reasons(), d.obligations(),
                c == null ? null : new CredentialSummary(stored.accessorHash(), c.ttlSeconds(), c.expiresAt(), c.numUses(),
                        c.wrapped(), c.reusedFrom()),
                d.approvalId(), d.policyRevision(), d.caller(), d.decidedAt(),
                d.identityVerified() == null ? null : new WorkloadIdentity(d.identityVerified(), d.workloadSpiffeId()));
    }
}

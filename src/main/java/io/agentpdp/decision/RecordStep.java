package io.agentpdp.decision;

import java.util.UUID;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

import io.agentpdp.approval.Approvals;
import io.agentpdp.audit.AuditTrail;
import io.agentpdp.audit.AuditTrail.Cause;
import io.agentpdp.credential.CredentialIssuer;
import io.agentpdp.quarantine.Quarantine;
import io.agentpdp.web.Problems;

/**
 * The last step: one recording statement, then the answer. A STEP_UP opens its approval request in the
 * transaction that records it. A grant whose agent was quarantined meanwhile is recorded as DENY and what it
 * minted is revoked; a decision that fired a trigger quarantines the agent once it is recorded.
 */
@Component
class RecordStep {

    private static final Logger log = LoggerFactory.getLogger(RecordStep.class);

    private final DecisionRecorder recorder;
    private final Approvals approvals;
    private final Quarantine quarantine;
    private final TransactionTemplate transactions;

    RecordStep(DecisionRecorder recorder, Approvals approvals, Quarantine quarantine, TransactionTemplate transactions) {
        this.recorder = recorder;
        this.approvals = approvals;
        this.quarantine = quarantine;
        this.transactions = transactions;
    }

    void record(DecisionState s) {
        if (s.approvalOpening != null) {
            recordStepUp(s);
            return;
        }
        // A retry is recorded with the approval it presented.
        AuditTrail.Result recorded = recorder.record(s, s.verdict, s.issued, s.reused, s.request.approvalId());
        if (recorded == AuditTrail.Result.AGENT_QUARANTINED) {
            // The agent's quarantine committed after this decision read its context: nothing was recorded, and
            // the answer is DENY. What was minted is recorded as withheld and revoked before answering.
            s.verdict = Verdict.deny(Cause.QUARANTINE, "quarantined").withRevision(s.verdict.revision());
            recorder.record(s, s.verdict, s.issued, null, s.request.approvalId());
            if (s.issued != null) {
                revokeWithheld(s.decisionId, s.request, s.issued);
            }
            s.issued = null;
            s.reused = null;
        }
        if (s.quarantineTrigger != null) {
            quarantineAfterDecision(s.request, s.quarantineTrigger);
        }
        s.answer = new Decision(s.decisionId, s.verdict.outcome(), s.verdict.reasons(), s.verdict.obligations(),
                s.issued != null ? credential(s.issued) : s.reused != null ? credential(s.reused) : null, null,
                s.verdict.revisionOrNone(), s.now);
    }

    /**
     * A STEP_UP: the approval request is opened and the decision recorded in one transaction, so a STEP_UP
     * whose record fails leaves no request open (and the answer is 503, DENY). When the request cannot be
     * opened (approvers flooded: {@code approval_rate_limited}; anything else: {@code approval_unavailable})
     * the decision is a recorded DENY.
     */
    private void recordStepUp(DecisionState s) {
        Verdict stepUp = s.verdict;
        Approvals.Ticket ticket;
        try {
            ticket = transactions.execute(status -> {
                Approvals.Ticket opened = approvals.request(s.approvalOpening);
                recorder.record(s, stepUp, null, null, opened.id());
                return opened;
            });
        } catch (Problems.ApiException e) {
            throw e; // the record failed: nothing committed, no approval open
        } catch (Approvals.RefusedException e) {
            log.warn("Decision {} denied: {}", s.decisionId, e.getMessage());
            deniedStepUp(s, Verdict.deny(Cause.REFUSAL, e.reason()).withRevision(stepUp.revision()));
            return;
        } catch (RuntimeException e) {
            log.warn("Decision {} denied: the approval request could not be opened: {}", s.decisionId, e.getMessage());
            deniedStepUp(s, Verdict.deny(Cause.DEPENDENCY_FAILURE, "approval_unavailable").withRevision(stepUp.revision()));
            return;
        }
        s.answer = new Decision(s.decisionId, stepUp.outcome(), stepUp.reasons(), stepUp.obligations(), null,
                new Decision.Approval(ticket.id(), ticket.status(), ticket.expiresAt(), ticket.requiredApprovals()),
                stepUp.revisionOrNone(), s.now);
    }

    private void deniedStepUp(DecisionState s, Verdict denied) {
        s.verdict = denied;
        recorder.record(s, denied, null, null, s.request.approvalId());
        s.answer = new Decision(s.decisionId, denied.outcome(), denied.reasons(), denied.obligations(), null, null,
                denied.revisionOrNone(), s.now);
    }

    /**
     * A credential minted by a decision whose agent was quarantined before it could be recorded: recorded
     * as withheld (pending revocation), revoked now. If Vault fails, the quarantine's retry keeps at it and
     * the quarantine state reports it pending; the token never left the PDP.
     */
    private void revokeWithheld(UUID decisionId, DecisionRequest request, CredentialIssuer.Issued issued) {
        try {
            if (!quarantine.revokeWithheld(request.tenant(), request.agent().id(), issued.accessor())) {
                log.warn("Decision {}: the credential withheld for the quarantine is not revoked yet; it is retried",
                        decisionId);
            }
        } catch (RuntimeException e) {
            log.error("Decision {}: revoking the credential withheld for the quarantine failed; it is retried",
                    decisionId, e);
        }
    }

    /**
     * The decision is recorded and stands; the quarantine (state, approvals, revocations) follows. If it
     * fails, the agent is still denied by this decision, and the failure is logged loudly.
     */
    private void quarantineAfterDecision(DecisionRequest request, String trigger) {
        try {
            quarantine.quarantine(request.tenant(), request.agent().id(), "automatic: " + trigger, "pdp");
        } catch (RuntimeException e) {
            log.error("Automatic quarantine of {}/{} ({}) failed", request.tenant(), request.agent().id(), trigger, e);
        }
    }

    private static Decision.Credential credential(CredentialIssuer.Issued issued) {
        return new Decision.Credential(issued.form().wire(), issued.token(),
                issued.wrapTtl() == null ? null : issued.wrapTtl().toSeconds(), issued.ttl().toSeconds(),
                issued.expiresAt(), issued.numUses(), issued.policies(), null);
    }

    /** No secret: the enforcement point keeps the one it holds. Its remaining lifetime is the TTL stated. */
    private static Decision.Credential credential(DecisionContext.HeldCredential reused) {
        return new Decision.Credential("reuse", null, null, reused.remainingSeconds(), reused.expiresAt(),
                reused.numUses(), reused.policies(), reused.decisionId());
    }
}

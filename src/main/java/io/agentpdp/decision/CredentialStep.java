package io.agentpdp.decision;

import java.util.Set;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

import io.agentpdp.approval.Approvals;
import io.agentpdp.audit.AuditTrail.Cause;
import io.agentpdp.credential.CredentialIssuer;
import io.agentpdp.policy.PolicyEngine;

/**
 * The credential step: a grant confirms the credential the task still holds where policy and the PDP's own check
 * allow it, else the credential module mints one. A failed mint is DENY {@code credential_unavailable}, and the
 * approval it spent is given back once. A grant outside the tool's credential profile is DENY
 * {@code credential_profile_invalid}.
 */
@Component
class CredentialStep {

    private static final Logger log = LoggerFactory.getLogger(CredentialStep.class);

    private final CredentialIssuer credentials;
    private final Approvals approvals;
    private final DecisionMetrics metrics;

    CredentialStep(CredentialIssuer credentials, Approvals approvals, DecisionMetrics metrics) {
        this.credentials = credentials;
        this.approvals = approvals;
        this.metrics = metrics;
    }

    void credential(DecisionState s) {
        PolicyEngine.CredentialGrant grant = s.verdict.grant();
        if (grant == null) {
            return;
        }
        s.reused = reusable(grant, s.request, s.context);
        if (s.reused != null) {
            return;
        }
        DecisionRequest request = s.request;
        long start = System.nanoTime();
        try {
            // The credential follows the tool's registered profile; the credential module refuses anything outside it.
            DecisionContext.Tool tool = s.context.tool();
            s.issued = credentials.issue(new CredentialIssuer.Request(tool == null ? null : tool.credentialProfile(),
                    grant.policies(), grant.ttl(), grant.numUses(), request.tenant(), request.agent().id(),
                    request.task().id(), s.decisionId.toString()), s.databaseClock);
            metrics.dependency("vault", true, start);
        } catch (CredentialIssuer.CredentialProfileInvalidException e) {
            log.warn("Decision {} denied: credential outside the tool's profile: {}", s.decisionId, e.getMessage());
            s.verdict = Verdict.deny(Cause.REFUSAL, "credential_profile_invalid").withRevision(s.verdict.revision());
        } catch (CredentialIssuer.CredentialUnavailableException e) {
            metrics.dependency("vault", false, start);
            log.warn("Decision {} denied: credential could not be minted: {}", s.decisionId, e.getMessage());
            String revision = s.verdict.revision();
            s.verdict = s.approvalConsumed && restoreApproval(s)
                    ? Verdict.deny(Cause.DEPENDENCY_FAILURE, "credential_unavailable", "approval_retry_granted").withRevision(revision)
                    : Verdict.deny(Cause.DEPENDENCY_FAILURE, "credential_unavailable").withRevision(revision);
        }
    }

    /** The approval this decision spent is given back once, since its credential could not be minted. */
    private boolean restoreApproval(DecisionState s) {
        try {
            return approvals.restoreAfterMintFailure(s.request.tenant(), s.request.approvalId(), s.decisionId);
        } catch (RuntimeException e) {
            log.error("Decision {}: the approval {} it spent could not be given back after the mint failed",
                    s.decisionId, s.request.approvalId(), e);
            return false;
        }
    }

    /**
     * The held credential this decision may confirm instead of minting, or null. The policy opts in
     * ({@code credential.reuse}); the PDP confirms only a credential that is no more than what the policy
     * grants now: issued to this agent (the query matched tenant and agent) for this task, live, not bound
     * to an approval, with the same Vault policies, no more lifetime left than the grant's TTL and no more
     * uses than it. A request presenting an approval always gets a fresh single-use credential.
     */
    private static DecisionContext.HeldCredential reusable(PolicyEngine.CredentialGrant grant, DecisionRequest request,
                                                           DecisionContext context) {
        DecisionContext.HeldCredential held = context.heldCredential();
        if (!grant.reuse() || held == null || request.approvalId() != null) {
            return null;
        }
        boolean fits = held.live() && held.reusable() && held.taskId().equals(request.task().id())
                && Set.copyOf(held.policies()).equals(Set.copyOf(grant.policies()))
                && held.remainingSeconds() > 0 && held.remainingSeconds() <= grant.ttl().toSeconds()
                && held.numUses() <= grant.numUses();
        return fits ? held : null;
    }
}

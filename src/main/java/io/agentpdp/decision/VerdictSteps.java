package io.agentpdp.decision;

import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

import io.agentpdp.approval.Approvals;
import io.agentpdp.audit.AuditTrail.Cause;
import io.agentpdp.policy.PolicyEngine;
import io.agentpdp.policy.PolicyEngine.Outcome;
import io.agentpdp.quarantine.Quarantine;

/**
 * The steps that make the verdict: evaluate policy (module policy), quarantine triggers (module quarantine),
 * approval (module approval: explain, spend, or prepare the request a STEP_UP opens).
 */
@Component
class VerdictSteps {

    private static final Logger log = LoggerFactory.getLogger(VerdictSteps.class);
    private static final String APPROVAL_INVALID = "approval_invalid";

    private final PolicyEngine policy;
    private final Quarantine quarantine;
    private final Approvals approvals;
    private final DecisionMetrics metrics;

    VerdictSteps(PolicyEngine policy, Quarantine quarantine, Approvals approvals, DecisionMetrics metrics) {
        this.policy = policy;
        this.quarantine = quarantine;
        this.approvals = approvals;
        this.metrics = metrics;
    }

    /**
     * A quarantined agent is DENY {@code quarantined} without asking OPA. Otherwise OPA's verdict on the enriched
     * input; an OPA failure is a DENY with its stable reason (cause dependency_failure). A verdict about an id
     * nobody registered must not count towards any trigger, now or once registered. The policy says only
     * {@code approval_invalid}; the approval module adds why.
     */
    void evaluatePolicy(DecisionState s) {
        if (s.context.quarantined()) {
            s.verdict = Verdict.deny(Cause.QUARANTINE, "quarantined");
            return;
        }
        long start = System.nanoTime();
        try {
            s.verdict = Verdict.of(policy.evaluate(PolicyInput.of(s, approvals)));
            metrics.dependency("opa", true, start);
        } catch (PolicyEngine.PolicyUnavailableException e) {
            metrics.dependency("opa", false, start);
            log.warn("Policy evaluation failed ({}): {}", e.reason(), e.getMessage());
            s.verdict = Verdict.deny(Cause.DEPENDENCY_FAILURE, e.reason());
        }
        if (s.verdict.cause() == Cause.POLICY && !s.context.agentRegistered()) {
            s.verdict = s.verdict.withCause(Cause.UNREGISTERED_AGENT);
        }
        if (s.request.approvalId() != null && s.verdict.reasons().contains(APPROVAL_INVALID)) {
            DecisionContext.ApprovalState approval = s.context.approval();
            s.verdict = s.verdict.withReasons(approval == null ? approvals.whyInvalid(null, true, false, null, s.action)
                    : approvals.whyInvalid(approval.status(), approval.expired(), approval.consumedAt() != null,
                    approval.fingerprint(), s.action));
        }
    }

    /**
     * Checked before any credential exists: a decision that quarantines grants nothing. The agent is quarantined
     * once the decision is recorded ({@link RecordStep}).
     */
    void quarantineTriggers(DecisionState s) {
        Verdict v = s.verdict;
        s.quarantineTrigger = quarantine.trigger(
                new Quarantine.Activity(s.context.agentRegistered(), s.context.recentDenies(), s.context.recentDecisions()),
                new Quarantine.Signal(v.cause() == Cause.POLICY, s.identity != null && s.identity.verified(),
                        v.is(Outcome.DENY), v.quarantineRequested(),
                        v.quarantineReason())).orElse(null);
        if (s.quarantineTrigger != null) {
            Verdict denied = v.withReasons("quarantined", "quarantine_trigger:" + s.quarantineTrigger);
            s.verdict = new Verdict(Outcome.DENY, denied.reasons(), List.of(), null, 0, v.revision(), false, null,
                    Cause.POLICY);
        }
    }

    /**
     * Only a decision that stands opens or spends an approval. A STEP_UP prepares the request it opens in the
     * transaction that records it. A grant to a request that presents an approval spends it, whatever reason the
     * policy gave, and before minting: of concurrent replays exactly one gets past this.
     */
    void approval(DecisionState s) {
        Verdict v = s.verdict;
        if (v.is(Outcome.STEP_UP)) {
            s.approvalOpening = new Approvals.Request(s.action, s.arguments.shown(), v.reasons(), v.requiredApprovals(),
                    s.caller.principal(), s.context.agentOwner(), s.decisionId, s.request.idempotencyKey());
            return;
        }
        if (v.grant() == null || s.request.approvalId() == null) {
            return;
        }
        try {
            Approvals.Consumption consumption = approvals.consume(s.action, s.request.approvalId(), s.caller.principal(),
                    s.decisionId);
            s.approvalConsumed = consumption == Approvals.Consumption.CONSUMED;
            if (!s.approvalConsumed) {
                s.verdict = Verdict.deny(v.cause(), APPROVAL_INVALID, consumption.reason()).withRevision(v.revision());
            }
        } catch (RuntimeException e) {
            log.warn("Decision {} denied: the approval could not be consumed: {}", s.decisionId, e.getMessage());
            s.verdict = Verdict.deny(Cause.DEPENDENCY_FAILURE, APPROVAL_INVALID, "approval_unavailable")
                    .withRevision(v.revision());
        }
    }
}

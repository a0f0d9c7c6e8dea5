package io.agentpdp.decision;

import java.time.Clock;
import java.time.Instant;
import java.util.UUID;

import io.agentpdp.approval.Approvals;
import io.agentpdp.credential.CredentialIssuer;
import io.agentpdp.identity.WorkloadIdentities;
import io.agentpdp.registry.Registry;
import io.agentpdp.security.Caller;

/**
 * One decision on its way through the {@link DecisionService} pipeline: what the request says, what the steps
 * have established so far, and, once a step can answer, the {@link #answer}. Steps fill it in order; a step
 * reads only what an earlier step set.
 */
final class DecisionState {

    final Caller caller;
    final DecisionRequest request;
    final UUID decisionId;

    /** canonicalise target */
    Registry.Target target;
    /** load context: the single read, and the decision's time (the database's) */
    DecisionContext context;
    Instant now;
    Clock databaseClock;
    Classification effective;
    /** load context: the chain depth derived from the parent decision (the caller's claim is only checked) */
    Chain chain;
    /** verify identity: the JWT-SVID as verified (null until then, and on refusals before it) */
    WorkloadIdentities.Verification identity;
    /** check arguments */
    Approvals.CheckedArguments arguments;
    Approvals.Action action;
    /** evaluate policy, and every later step that changes the outcome */
    Verdict verdict;
    /** quarantine triggers: the trigger that fired, or null */
    String quarantineTrigger;
    /** approval: spent by this decision (given back if minting fails); the request a STEP_UP opens */
    boolean approvalConsumed;
    Approvals.Request approvalOpening;
    /** credential: minted, or the held credential confirmed instead */
    CredentialIssuer.Issued issued;
    DecisionContext.HeldCredential reused;
    /** record: the answer */
    Decision answer;

    DecisionState(Caller caller, DecisionRequest request, UUID decisionId) {
        this.caller = caller;
        this.request = request;
        this.decisionId = decisionId;
    }

    /** The time a record is stamped with: the database's once the context is read, else this replica's. */
    Instant recordTime(Clock replica) {
        return now != null ? now : replica.instant();
    }

    /**
     * The task's place in its delegation chain: {@code depth} as derived from the parent's record (0 without a
     * parent), {@code declared} the caller's claim (null when not sent), {@code parentKnown} whether the named
     * parent is a decision of this tenant for the same agent or task (true when none is named).
     */
    record Chain(int depth, Integer declared, boolean parentKnown) {

        static Chain derive(DecisionRequest.Task task, DecisionContext.Parent parent) {
            if (task.parentDecisionId() == null) {
                return new Chain(0, task.chainDepth(), true);
            }
            if (parent == null) {
                // Unknown or foreign parent: policy denies (parent_unknown); the claim, if any, is what is recorded.
                return new Chain(task.chainDepth() == null ? 0 : task.chainDepth(), task.chainDepth(), false);
            }
            return new Chain(parent.chainDepth() + 1, task.chainDepth(), true);
        }
    }
}

package io.agentpdp.decision;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * What the database knows about one decision: the agent's registration and quarantine state, the
 * target's stored classification and owner, the referenced approval, the credential the caller says it
 * holds, and the agent's recent DENY and
 * decision counts for the quarantine triggers. Loaded in one round trip, together with the database's
 * clock, which is the decision's time.
 */
record DecisionContext(boolean agentRegistered,
                       String agentOwner,
                       List<String> allowedTools,
                       List<String> homeSystems,
                       Integer maxChainDepth,
                       boolean quarantined,
                       String targetOwnerTenant,
                       Classification storedClassification,
                       ApprovalState approval,
                       HeldCredential heldCredential,
                       long recentDenies,
                       long recentDecisions,
                       Instant databaseNow) {

    /** {@code expired} is judged by the database's clock, the same one that spends the approval. */
    record ApprovalState(UUID id, String status, String fingerprint, boolean expired, Instant consumedAt) {
    }

    /**
     * The credential the request says it holds, if it was issued to this tenant's agent (else null).
     * {@code live} and {@code remainingSeconds} are judged by the database's clock; {@code reusable} is
     * false for credentials minted for a human approval. Only the accessor's hash is loaded, never the
     * accessor.
     */
    record HeldCredential(UUID decisionId, String taskId, List<String> policies, boolean live, long remainingSeconds,
                          Instant expiresAt, int numUses, boolean wrapped, boolean reusable, String accessorHash) {
    }
}

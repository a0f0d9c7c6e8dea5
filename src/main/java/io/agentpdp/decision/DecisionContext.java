package io.agentpdp.decision;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * What the database knows about one decision: the agent's registration (with the SPIFFE IDs bound to it) and the
 * tool's, the target
 * system's case rule, the agent's quarantine state, the target's stored classification (this tenant's
 * rules only), the referenced approval, the credential the caller says it
 * holds, and the agent's recent DENY and
 * decision counts for the quarantine triggers. Loaded in one round trip, together with the database's
 * clock, which is the decision's time.
 */
record DecisionContext(boolean agentRegistered,
                       boolean agentEnabled,
                       String agentOwner,
                       List<String> allowedTools,
                       List<String> homeSystems,
                       Integer maxChainDepth,
                       List<String> agentSpiffeIds,
                       Tool tool,
                       String registeredSystemName,
                       boolean systemCaseSensitive,
                       boolean quarantined,
                       Classification storedClassification,
                       ApprovalState approval,
                       HeldCredential heldCredential,
                       long recentDenies,
                       long recentDecisions,
                       Instant databaseNow) {

    /** The registered tool the call names (null when the tenant has not registered it). */
    /** {@code argumentSchema}: the registered JSON Schema of its arguments (text), null when it has none. */
    record Tool(String targetSystem, List<String> actionKinds, String riskTier, boolean readOnly, boolean destructive,
                long version, String argumentSchema) {
    }

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

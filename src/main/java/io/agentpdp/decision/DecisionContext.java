package io.agentpdp.decision;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * What the database knows about one decision: the agent's registration (with the SPIFFE IDs bound to it) and the
 * tool's, the target
 * system's case rule, the agent's quarantine state, the target's stored classification (this tenant's
 * rules only), the referenced approval, the credential the caller says it
 * holds, the caller's enforcement point and whether it binds the agent, the parent decision the task names,
 * and the agent's recent DENY and decision counts for the quarantine triggers. Loaded in one round trip, together with the database's
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
                       EnforcementPoint enforcementPoint,
                       Parent parent,
                       long recentDenies,
                       long recentDecisions,
                       Instant databaseNow) {

    /**
     * The registered tool the call names (null when the tenant has not registered it). {@code argumentSchema}: the
     * registered JSON Schema of its arguments (text), null when it has none. {@code credentialProfileName}: the
     * profile it names (null: none); {@code credentialProfile}: that profile, null when it names none or one that is
     * not registered.
     */
    record Tool(String targetSystem, List<String> actionKinds, String riskTier, boolean readOnly, boolean destructive,
                long version, String argumentSchema, String credentialProfileName,
                io.agentpdp.credential.CredentialProfile credentialProfile) {
    }

    /**
     * The enforcement point the registry holds for the caller's principal in this tenant (null: none). {@code
     * bindsAgent}: it lists the agent's id, or one of its label selectors matches the registered agent's labels.
     */
    record EnforcementPoint(java.util.UUID id, boolean enabled, boolean bindsAgent) {

        /** The rule of item "enforcement points are bound": registered, enabled, and binding this agent. */
        static boolean binds(EnforcementPoint point) {
            return point != null && point.enabled() && point.bindsAgent();
        }
    }

    /**
     * The parent decision the task names, as recorded in this tenant for the same agent or the same task
     * (null: no such record, or none named). {@code chainDepth} is the depth recorded with it.
     */
    record Parent(UUID id, int chainDepth) {
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

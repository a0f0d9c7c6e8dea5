package io.agentpdp.decision;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * What the database knows about one decision: the agent's registration and quarantine state, the
 * target's stored classification and owner, and the referenced approval. Loaded in one round trip.
 */
record DecisionContext(boolean agentRegistered,
                       String agentOwner,
                       List<String> allowedTools,
                       List<String> homeSystems,
                       Integer maxChainDepth,
                       boolean quarantined,
                       String targetOwnerTenant,
                       Classification storedClassification,
                       ApprovalState approval) {

    record ApprovalState(UUID id, String status, String fingerprint, Instant expiresAt, Instant consumedAt) {
        boolean expired(Instant now) {
            return !expiresAt.isAfter(now);
        }
    }
}

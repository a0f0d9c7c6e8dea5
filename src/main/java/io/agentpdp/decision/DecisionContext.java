package io.agentpdp.decision;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * What the database knows about one decision: the agent's registration and quarantine state, the
 * target's stored classification and owner, the referenced approval, and the agent's recent DENY and
 * decision counts for the quarantine triggers. Loaded in one round trip.
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
                       long recentDenies,
                       long recentDecisions) {

    record ApprovalState(UUID id, String status, String fingerprint, Instant expiresAt, Instant consumedAt) {
        boolean expired(Instant now) {
            return !expiresAt.isAfter(now);
        }
    }
}

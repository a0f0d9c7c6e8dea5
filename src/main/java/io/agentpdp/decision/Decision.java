package io.agentpdp.decision;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

import com.fasterxml.jackson.annotation.JsonInclude;

import io.agentpdp.policy.PolicyEngine;

/** The answer to POST /v1/decisions (openapi.yaml: Decision). */
record Decision(UUID decisionId,
                PolicyEngine.Outcome outcome,
                List<String> reasons,
                List<String> obligations,
                @JsonInclude(JsonInclude.Include.NON_NULL) Credential credential,
                @JsonInclude(JsonInclude.Include.NON_NULL) Approval approval,
                String policyRevision,
                Instant decidedAt) {

    /** {@code token} is absent for type {@code reuse}, which names the issuing decision in {@code reusedDecisionId}. */
    record Credential(String type, @JsonInclude(JsonInclude.Include.NON_NULL) String token, Long wrapTtlSeconds,
                      long ttlSeconds, Instant expiresAt, int numUses, List<String> policies,
                      @JsonInclude(JsonInclude.Include.NON_NULL) UUID reusedDecisionId) {
        @Override
        public String toString() {
            return "Credential[type=" + type + ", ttlSeconds=" + ttlSeconds + "]";
        }
    }

    record Approval(UUID id, String status, Instant expiresAt, int requiredApprovals) {
    }
}

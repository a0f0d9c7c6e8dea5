package io.agentpdp.decision;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.agentpdp.approval.Approvals;
import io.agentpdp.registry.Registry;

/**
 * The enriched input document the Rego policy sees (policies/agentpdp/decision, policies/schemas/input.json):
 * the request's claims beside what the PDP looked up or derived. Registry facts, the chain depth, the
 * classification and the approval and credential states are the PDP's, never the caller's.
 */
final class PolicyInput {

    private PolicyInput() {
    }

    static Map<String, Object> of(DecisionState s, Approvals approvals) {
        DecisionRequest request = s.request;
        DecisionContext context = s.context;
        Map<String, Object> agent = new LinkedHashMap<>();
        agent.put("id", request.agent().id());
        agent.put("registered", context.agentRegistered());
        agent.put("enabled", context.agentRegistered() && context.agentEnabled());
        agent.put("owner", context.agentOwner());
        agent.put("allowed_tools", context.allowedTools());
        agent.put("home_systems", context.homeSystems());
        agent.put("max_chain_depth", context.maxChainDepth());
        agent.put("workload_identity", s.identity.policyInput());

        Map<String, Object> task = new LinkedHashMap<>();
        task.put("id", request.task().id());
        task.put("intent", request.task().intent());
        task.put("chain_depth", s.chain.depth());
        task.put("declared_chain_depth", s.chain.declared());
        task.put("parent_decision_id", request.task().parentDecisionId() == null ? null : request.task().parentDecisionId().toString());
        task.put("parent_known", s.chain.parentKnown());

        Map<String, Object> classification = new LinkedHashMap<>();
        classification.put("declared", request.dataClassification().wire());
        classification.put("stored", context.storedClassification() == null ? null : context.storedClassification().wire());
        classification.put("effective", s.effective.wire());

        Map<String, Object> input = new LinkedHashMap<>();
        input.put("tenant", request.tenant());
        input.put("caller", Map.of("subject", s.caller.subject(), "tenant", s.caller.tenant(), "scopes", List.copyOf(s.caller.scopes())));
        input.put("agent", agent);
        input.put("task", task);
        input.put("tool", tool(request, s.target, context));
        input.put("action", Map.of("kind", request.action().wire()));
        input.put("target", target(s.target, context));
        input.put("classification", classification);
        input.put("approval", approval(s, approvals));
        input.put("arguments", request.argumentsOrNull() == null ? Map.of() : request.argumentsOrNull());
        input.put("quarantine", Map.of("active", context.quarantined()));
        input.put("held_credential", heldCredential(request, context));
        input.put("context", request.context() == null ? Map.of() : request.context());
        return input;
    }

    /** A registered system is named as registered (folded when case-insensitive), so home systems compare alike. */
    private static Map<String, Object> target(Registry.Target requested, DecisionContext context) {
        Map<String, Object> target = new LinkedHashMap<>();
        target.put("system", context.registeredSystemName() != null ? context.registeredSystemName() : requested.system());
        target.put("resource", context.systemCaseSensitive() ? requested.resource() : requested.resourceFolded());
        return target;
    }

    /** What the tenant's registry holds for the named tool; only {@code name} and {@code registered} when nothing. */
    private static Map<String, Object> tool(DecisionRequest request, Registry.Target requested, DecisionContext context) {
        DecisionContext.Tool registered = context.tool();
        Map<String, Object> tool = new LinkedHashMap<>();
        tool.put("name", request.tool());
        tool.put("registered", registered != null);
        if (registered != null) {
            tool.put("target_system", registered.targetSystem());
            tool.put("targets_system", context.systemCaseSensitive() ? registered.targetSystem().equals(requested.system())
                    : Registry.fold(registered.targetSystem()).equals(requested.systemFolded()));
            tool.put("action_kinds", registered.actionKinds());
            tool.put("risk_tier", registered.riskTier());
            tool.put("read_only", registered.readOnly());
            tool.put("destructive", registered.destructive());
            // The profile as policy may use it: what it grants in this tenant and its caps (credential.CredentialProfile).
            tool.put("credential_profile", registered.credentialProfile() == null ? null
                    : registered.credentialProfile().policyInput(request.tenant()));
        }
        return tool;
    }

    private static Map<String, Object> approval(DecisionState s, Approvals approvals) {
        if (s.request.approvalId() == null) {
            return null;
        }
        DecisionContext.ApprovalState approval = s.context.approval();
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("id", s.request.approvalId().toString());
        if (approval == null) {
            // Unknown or another tenant's approval: present, but matching nothing.
            state.put("status", "UNKNOWN");
            state.put("matches", false);
            state.put("expired", true);
            state.put("consumed", false);
            return state;
        }
        state.put("status", approval.status());
        state.put("matches", approval.fingerprint().equals(approvals.fingerprint(s.action)));
        state.put("expired", approval.expired());
        state.put("consumed", approval.consumedAt() != null);
        return state;
    }

    /**
     * What policy learns about the credential the request says it holds: null when none is named; an
     * unknown or foreign one is neither live nor of this task.
     */
    private static Map<String, Object> heldCredential(DecisionRequest request, DecisionContext context) {
        if (request.heldCredential() == null) {
            return null;
        }
        DecisionContext.HeldCredential held = context.heldCredential();
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("decision_id", request.heldCredential().decisionId().toString());
        state.put("live", held != null && held.live());
        state.put("same_task", held != null && held.taskId().equals(request.task().id()));
        state.put("reusable", held != null && held.reusable());
        state.put("policies", held == null ? List.of() : held.policies());
        state.put("remaining_seconds", held == null ? 0 : held.remainingSeconds());
        state.put("num_uses", held == null ? 0 : held.numUses());
        return state;
    }
}

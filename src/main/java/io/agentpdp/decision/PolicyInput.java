package io.agentpdp.decision;

import java.util.Collection;
import java.util.List;
import java.util.Map;

import io.agentpdp.approval.Approvals;
import io.agentpdp.policy.PolicyEngine;
import io.agentpdp.registry.Registry;
import tools.jackson.core.JsonGenerator;

/**
 * The enriched input document the Rego policy sees (policies/agentpdp/decision, policies/schemas/input.json):
 * the request's claims beside what the PDP looked up or derived. Registry facts, the chain depth, the
 * classification and the approval and credential states are the PDP's, never the caller's.
 */
final class PolicyInput {

    private PolicyInput() {
    }

    /**
     * The input, written straight into the request body by {@link PolicyEngine#evaluate(PolicyEngine.Input)}: no
     * intermediate tree of maps. What can fail (the approval's fingerprint) is computed here, before any writing.
     */
    static PolicyEngine.Input of(DecisionState s, Approvals approvals) {
        DecisionRequest request = s.request;
        DecisionContext context = s.context;
        Boolean approvalMatches = request.approvalId() == null || context.approval() == null ? null
                : context.approval().fingerprint().equals(approvals.fingerprint(s.action));
        return g -> {
            g.writeStartObject();
            g.writeStringProperty("tenant", request.tenant());
            g.writeObjectPropertyStart("caller");
            g.writeStringProperty("subject", s.caller.subject());
            g.writeStringProperty("tenant", s.caller.tenant());
            strings(g, "scopes", s.caller.scopes());
            g.writeEndObject();
            agent(g, request, context, s);
            task(g, request, s.chain);
            tool(g, request, s.target, context);
            g.writeObjectPropertyStart("action");
            g.writeStringProperty("kind", request.action().wire());
            g.writeEndObject();
            target(g, s.target, context);
            g.writeObjectPropertyStart("classification");
            g.writeStringProperty("declared", request.dataClassification().wire());
            g.writeStringProperty("stored", context.storedClassification() == null ? null : context.storedClassification().wire());
            g.writeStringProperty("effective", s.effective.wire());
            g.writeEndObject();
            approval(g, s, approvalMatches);
            g.writeName("arguments");
            if (request.argumentsOrNull() == null) {
                g.writeStartObject();
                g.writeEndObject();
            } else {
                g.writeTree(request.argumentsOrNull());
            }
            g.writeObjectPropertyStart("quarantine");
            g.writeBooleanProperty("active", context.quarantined());
            g.writeEndObject();
            heldCredential(g, request, context);
            g.writePOJOProperty("context", request.context() == null ? Map.of() : request.context());
            g.writeEndObject();
        };
    }

    private static void agent(JsonGenerator g, DecisionRequest request, DecisionContext context, DecisionState s) {
        g.writeObjectPropertyStart("agent");
        g.writeStringProperty("id", request.agent().id());
        g.writeBooleanProperty("registered", context.agentRegistered());
        g.writeBooleanProperty("enabled", context.agentRegistered() && context.agentEnabled());
        g.writeStringProperty("owner", context.agentOwner());
        strings(g, "allowed_tools", context.allowedTools());
        strings(g, "home_systems", context.homeSystems());
        integer(g, "max_chain_depth", context.maxChainDepth());
        flat(g, "workload_identity", s.identity.policyInput());
        g.writeEndObject();
    }

    private static void task(JsonGenerator g, DecisionRequest request, DecisionState.Chain chain) {
        g.writeObjectPropertyStart("task");
        g.writeStringProperty("id", request.task().id());
        g.writeStringProperty("intent", request.task().intent());
        g.writeNumberProperty("chain_depth", chain.depth());
        integer(g, "declared_chain_depth", chain.declared());
        g.writeStringProperty("parent_decision_id", request.task().parentDecisionId() == null ? null
                : request.task().parentDecisionId().toString());
        g.writeBooleanProperty("parent_known", chain.parentKnown());
        g.writeEndObject();
    }

    /** A registered system is named as registered (folded when case-insensitive), so home systems compare alike. */
    private static void target(JsonGenerator g, Registry.Target requested, DecisionContext context) {
        g.writeObjectPropertyStart("target");
        g.writeStringProperty("system", context.registeredSystemName() != null ? context.registeredSystemName() : requested.system());
        g.writeStringProperty("resource", context.systemCaseSensitive() ? requested.resource() : requested.resourceFolded());
        g.writeEndObject();
    }

    /** What the tenant's registry holds for the named tool; only {@code name} and {@code registered} when nothing. */
    private static void tool(JsonGenerator g, DecisionRequest request, Registry.Target requested, DecisionContext context) {
        DecisionContext.Tool registered = context.tool();
        g.writeObjectPropertyStart("tool");
        g.writeStringProperty("name", request.tool());
        g.writeBooleanProperty("registered", registered != null);
        if (registered != null) {
            g.writeStringProperty("target_system", registered.targetSystem());
            g.writeBooleanProperty("targets_system", context.systemCaseSensitive()
                    ? registered.targetSystem().equals(requested.system())
                    : Registry.fold(registered.targetSystem()).equals(requested.systemFolded()));
            strings(g, "action_kinds", registered.actionKinds());
            g.writeStringProperty("risk_tier", registered.riskTier());
            g.writeBooleanProperty("read_only", registered.readOnly());
            g.writeBooleanProperty("destructive", registered.destructive());
            // The profile as policy may use it: what it grants in this tenant and its caps (credential.CredentialProfile).
            flat(g, "credential_profile", registered.credentialProfile() == null ? null
                    : registered.credentialProfile().policyInput(request.tenant()));
        }
        g.writeEndObject();
    }

    /** {@code matches}: the approval's fingerprint is this action's (null when no approval or an unknown one). */
    private static void approval(JsonGenerator g, DecisionState s, Boolean matches) {
        if (s.request.approvalId() == null) {
            g.writeNullProperty("approval");
            return;
        }
        DecisionContext.ApprovalState approval = s.context.approval();
        g.writeObjectPropertyStart("approval");
        g.writeStringProperty("id", s.request.approvalId().toString());
        if (approval == null) {
            // Unknown or another tenant's approval: present, but matching nothing.
            g.writeStringProperty("status", "UNKNOWN");
            g.writeBooleanProperty("matches", false);
            g.writeBooleanProperty("expired", true);
            g.writeBooleanProperty("consumed", false);
        } else {
            g.writeStringProperty("status", approval.status());
            g.writeBooleanProperty("matches", matches);
            g.writeBooleanProperty("expired", approval.expired());
            g.writeBooleanProperty("consumed", approval.consumedAt() != null);
        }
        g.writeEndObject();
    }

    /**
     * What policy learns about the credential the request says it holds: null when none is named; an
     * unknown or foreign one is neither live nor of this task.
     */
    private static void heldCredential(JsonGenerator g, DecisionRequest request, DecisionContext context) {
        if (request.heldCredential() == null) {
            g.writeNullProperty("held_credential");
            return;
        }
        DecisionContext.HeldCredential held = context.heldCredential();
        g.writeObjectPropertyStart("held_credential");
        g.writeStringProperty("decision_id", request.heldCredential().decisionId().toString());
        g.writeBooleanProperty("live", held != null && held.live());
        g.writeBooleanProperty("same_task", held != null && held.taskId().equals(request.task().id()));
        g.writeBooleanProperty("reusable", held != null && held.reusable());
        strings(g, "policies", held == null ? List.of() : held.policies());
        g.writeNumberProperty("remaining_seconds", held == null ? 0 : held.remainingSeconds());
        g.writeNumberProperty("num_uses", held == null ? 0 : held.numUses());
        g.writeEndObject();
    }

    /*
     * The input's own values are written by the generator's typed calls: writePOJO looked a serializer up for every
     * list, number and map (about half of this class's share of a DENY's profile). Only the request's free-form
     * arguments and context go through databind.
     */

    private static void strings(JsonGenerator g, String name, Collection<String> values) {
        g.writeArrayPropertyStart(name);
        for (String value : values) {
            g.writeString(value);
        }
        g.writeEndArray();
    }

    private static void integer(JsonGenerator g, String name, Integer value) {
        if (value == null) {
            g.writeNullProperty(name);
        } else {
            g.writeNumberProperty(name, value.intValue());
        }
    }

    /** A flat view another module gives policy (scalars and string lists): the workload identity, the profile. */
    private static void flat(JsonGenerator g, String name, Map<String, Object> view) {
        if (view == null) {
            g.writeNullProperty(name);
            return;
        }
        g.writeObjectPropertyStart(name);
        for (Map.Entry<String, Object> entry : view.entrySet()) {
            g.writeName(entry.getKey());
            switch (entry.getValue()) {
                case null -> g.writeNull();
                case String value -> g.writeString(value);
                case Boolean value -> g.writeBoolean(value);
                case Integer value -> g.writeNumber(value.intValue());
                case Long value -> g.writeNumber(value.longValue());
                default -> g.writePOJO(entry.getValue());
            }
        }
        g.writeEndObject();
    }
}

package io.agentpdp.decision;

import java.util.Map;
import java.util.UUID;

import tools.jackson.databind.JsonNode;

import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import jakarta.validation.constraints.Size;

import io.agentpdp.registry.Registry;

/**
 * The action context of an agent's intended tool call, as openapi.yaml's DecisionRequest. Identifiers
 * are plain ASCII so that look-alike or invisible Unicode cannot slip a tool name past the policy.
 * {@code arguments} stays a JSON tree with exact numbers (the mapper reads floats as BigDecimal): an approval
 * binds it by its RFC 8785 canonical form. {@code idempotencyKey} is the enforcement point's key of this attempt;
 * it only names the approval a STEP_UP opens ({@code approval.Approvals#request}), never changes a verdict.
 */
record DecisionRequest(
        @NotNull @Pattern(regexp = IDENTIFIER, message = IDENTIFIER_MESSAGE) String tenant,
        @NotNull @Valid Agent agent,
        @NotNull @Valid Task task,
        @NotNull @Pattern(regexp = TOOL, message = "must be an ASCII tool name (letters, digits, ._:/@-), at most 200 characters") String tool,
        @NotNull Registry.ActionKind action,
        @NotNull @Valid Target target,
        @NotNull Classification dataClassification,
        UUID approvalId,
        @Valid HeldCredential heldCredential,
        JsonNode arguments,
        Map<String, Object> context,
        @Pattern(regexp = IDENTIFIER, message = IDENTIFIER_MESSAGE) String idempotencyKey) {

    static final String IDENTIFIER = "^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$";
    static final String IDENTIFIER_MESSAGE = "must be an ASCII identifier (letters, digits, ._:/@-), at most 128 characters";
    static final String TOOL = "^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,199}$";
    /** Free text may be any Unicode but no control characters (NUL cannot even be stored). */
    static final String NO_CONTROL = "^[^\\p{Cntrl}]*$";
    static final String NO_CONTROL_MESSAGE = "must not contain control characters";

    /** The call's arguments, or null when it has none (absent or JSON null). */
    JsonNode argumentsOrNull() {
        return arguments == null || arguments.isNull() || arguments.isMissingNode() ? null : arguments;
    }

    record Agent(@NotNull @Pattern(regexp = Registry.AGENT_ID, message = Registry.AGENT_ID_MESSAGE) String id,
                 @Size(max = 8192) String workloadIdentityToken) {
        @Override
        public String toString() {
            return "Agent[id=" + id + "]";
        }
    }

    record Task(@NotNull @Pattern(regexp = IDENTIFIER, message = IDENTIFIER_MESSAGE) String id,
                @NotBlank @Size(max = 1024) @Pattern(regexp = NO_CONTROL, message = NO_CONTROL_MESSAGE) String intent,
                @Min(0) @Max(1000) Integer chainDepth,
                UUID parentDecisionId) {
    }

    /** Checked against the canonical syntax by the registry ({@link Registry#canonicalTarget}); refused when not canonical. */
    record Target(@NotBlank @Size(max = 128) @Pattern(regexp = NO_CONTROL, message = NO_CONTROL_MESSAGE) String system,
                  @NotBlank @Size(max = 512) @Pattern(regexp = NO_CONTROL, message = NO_CONTROL_MESSAGE) String resource) {
    }

    /** The credential the enforcement point still holds for this task, by the decision that issued it. */
    record HeldCredential(@NotNull UUID decisionId) {
    }
}

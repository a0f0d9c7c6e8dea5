package io.agentpdp.registry;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonProperty;

import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import jakarta.validation.constraints.Size;

import tools.jackson.databind.JsonNode;

/**
 * What the registry holds, as openapi.yaml's Agent, Tool, System, EnforcementPoint and Classification
 * (without the server's fields: version, updated_at, updated_by, and the id of UUID-keyed entries).
 * Bean Validation checks the grammar; {@link #problems} adds the canonical-name rules. {@code normalized()}
 * fills the documented defaults, so an entry read back equals the one written and a re-apply is a no-op.
 */
final class Specs {

    static final String TOOL_NAME = "^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$";
    static final String TOOL_NAME_MESSAGE = "must be a tool name (ASCII letters, digits, ._:-), at most 200 characters";
    static final String NO_CONTROL = "^[^\\p{Cntrl}]*$";
    static final String NO_CONTROL_MESSAGE = "must not contain control characters";
    static final String SPIFFE_ID = "^spiffe://[a-z0-9._-]+(/[A-Za-z0-9._~!$&'()*+,;=:@-]+)*$";
    static final String LABEL_KEY = "^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$";
    static final String LABEL_VALUE = "^[A-Za-z0-9._-]{0,63}$";
    static final String PROFILE = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$";
    /** A Vault object's name within a tenant (policy, engine mount or role): lower case, no '.' or '/'. */
    static final String VAULT_NAME = "^[a-z0-9][a-z0-9_-]{0,63}$";
    static final String VAULT_NAME_MESSAGE = "must be a lower-case Vault name (a-z, 0-9, _-), at most 64 characters";

    private Specs() {
    }

    enum RiskTier {
        @JsonProperty("low") LOW,
        @JsonProperty("medium") MEDIUM,
        @JsonProperty("high") HIGH,
        @JsonProperty("critical") CRITICAL;

        String wire() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        static RiskTier fromWire(String value) {
            return valueOf(value.toUpperCase(java.util.Locale.ROOT));
        }
    }

    enum Level {
        @JsonProperty("public") PUBLIC,
        @JsonProperty("internal") INTERNAL,
        @JsonProperty("confidential") CONFIDENTIAL,
        @JsonProperty("restricted") RESTRICTED;

        String wire() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        static Level fromWire(String value) {
            return valueOf(value.toUpperCase(java.util.Locale.ROOT));
        }
    }

    /** A principal: who issued its identity (JWT {@code iss}) and who it is there ({@code sub}). */
    record Principal(@NotBlank @Size(max = 512) @Pattern(regexp = NO_CONTROL, message = NO_CONTROL_MESSAGE) String issuer,
                     @NotBlank @Size(max = 512) @Pattern(regexp = NO_CONTROL, message = NO_CONTROL_MESSAGE) String subject) {
    }

    record Agent(@NotNull @Pattern(regexp = Registry.AGENT_ID, message = Registry.AGENT_ID_MESSAGE) String id,
                 @Size(max = 200) @Pattern(regexp = NO_CONTROL, message = NO_CONTROL_MESSAGE) String displayName,
                 @NotNull @Valid Principal owner,
                 @Size(max = 16) List<@NotNull @Size(max = 2048) @Pattern(regexp = SPIFFE_ID, message = "must be a SPIFFE ID (spiffe://trust-domain/path)") String> spiffeIds,
                 @NotNull @Size(max = 500) List<@NotNull @Pattern(regexp = TOOL_NAME, message = TOOL_NAME_MESSAGE) String> allowedTools,
                 @Size(max = 64) List<@NotNull String> homeSystems,
                 @Min(0) @Max(1000) Integer maxChainDepth,
                 Boolean enabled,
                 @Size(max = 64) Map<@NotNull @Pattern(regexp = LABEL_KEY, message = "must be a label key (ASCII letters, digits, ._/-), at most 63 characters") String,
                         @NotNull @Pattern(regexp = LABEL_VALUE, message = "must be a label value (ASCII letters, digits, ._-), at most 63 characters") String> labels) {

        Agent normalized() {
            return new Agent(id, displayName, owner, spiffeIds == null ? List.of() : List.copyOf(spiffeIds),
                    List.copyOf(allowedTools), homeSystems == null ? List.of() : List.copyOf(homeSystems), maxChainDepth,
                    enabled == null || enabled, sorted(labels));
        }
    }

    record Tool(@NotNull @Pattern(regexp = TOOL_NAME, message = TOOL_NAME_MESSAGE) String name,
                @NotNull String targetSystem,
                @NotEmpty @Size(max = 7) List<Registry.@NotNull ActionKind> actionKinds,
                @NotNull RiskTier riskTier,
                Boolean readOnly,
                Boolean destructive,
                @Pattern(regexp = PROFILE, message = "must be a credential profile name (ASCII letters, digits, ._-)") String credentialProfile,
                JsonNode argumentSchema) {

        Tool normalized() {
            return new Tool(name, targetSystem, List.copyOf(actionKinds.stream().distinct().toList()), riskTier,
                    readOnly != null && readOnly, destructive != null && destructive, credentialProfile,
                    argumentSchema == null || argumentSchema.isNull() ? null : argumentSchema);
        }
    }

    /** A target system and how its names compare; a case-insensitive system's name is given folded. */
    record TargetSystem(@NotNull String name,
                  @NotNull Boolean caseSensitive,
                  @Size(max = 200) @Pattern(regexp = NO_CONTROL, message = NO_CONTROL_MESSAGE) String displayName) {

        TargetSystem normalized() {
            return this;
        }
    }

    record EnforcementPoint(@NotBlank @Size(max = 512) @Pattern(regexp = NO_CONTROL, message = NO_CONTROL_MESSAGE) String principal,
                            @Size(max = 1000) List<@NotNull @Pattern(regexp = Registry.AGENT_ID, message = Registry.AGENT_ID_MESSAGE) String> agentIds,
                            @Size(max = 32) List<@NotNull @NotEmpty @Size(max = 16) Map<@NotNull @Pattern(regexp = LABEL_KEY, message = "must be a label key") String,
                                    @NotNull @Pattern(regexp = LABEL_VALUE, message = "must be a label value") String>> agentSelectors,
                            Boolean enabled) {

        EnforcementPoint normalized() {
            List<Map<String, String>> selectors = new ArrayList<>();
            if (agentSelectors != null) {
                agentSelectors.forEach(selector -> selectors.add(sorted(selector)));
            }
            return new EnforcementPoint(principal, agentIds == null ? List.of() : List.copyOf(agentIds),
                    List.copyOf(selectors), enabled == null || enabled);
        }
    }

    enum ProfileKind {
        @JsonProperty("token") TOKEN,
        @JsonProperty("dynamic") DYNAMIC;

        String wire() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        static ProfileKind fromWire(String value) {
            return valueOf(value.toUpperCase(java.util.Locale.ROOT));
        }
    }

    /**
     * A credential profile (openapi.yaml CredentialProfile): what a credential minted for a tool naming it may
     * be. Names of Vault objects are given without the tenant prefix; the credential module adds it.
     */
    record CredentialProfile(@NotNull @Pattern(regexp = PROFILE, message = "must be a credential profile name (ASCII letters, digits, ._-)") String name,
                             @NotNull ProfileKind kind,
                             @Size(max = 16) List<@NotNull @Pattern(regexp = VAULT_NAME, message = VAULT_NAME_MESSAGE) String> policies,
                             Boolean perAgent,
                             @Pattern(regexp = VAULT_NAME, message = VAULT_NAME_MESSAGE) String mount,
                             @Pattern(regexp = VAULT_NAME, message = VAULT_NAME_MESSAGE) String role,
                             @NotNull @Min(1) @Max(86400) Integer maxTtlSeconds,
                             @Min(1) @Max(1000) Integer maxUses,
                             Boolean wrapped) {

        CredentialProfile normalized() {
            boolean dynamic = kind == ProfileKind.DYNAMIC;
            return new CredentialProfile(name, kind, policies == null ? List.of() : List.copyOf(policies.stream().distinct().sorted().toList()),
                    perAgent != null && perAgent, dynamic && mount == null ? "database" : mount, role, maxTtlSeconds,
                    maxUses, wrapped == null || wrapped);
        }
    }

    record Classification(@NotNull String system, @NotNull String resourcePrefix, @NotNull Level level) {

        Classification normalized() {
            return this;
        }
    }

    private static Map<String, String> sorted(Map<String, String> map) {
        return map == null ? java.util.Collections.emptySortedMap() : java.util.Collections.unmodifiableSortedMap(new java.util.TreeMap<>(map));
    }

    /** The canonical-name rules Bean Validation cannot express: field path to message. */
    static Map<String, String> problems(Object spec) {
        Map<String, String> problems = new LinkedHashMap<>();
        switch (spec) {
            case Agent agent -> {
                List<String> homes = agent.homeSystems() == null ? List.of() : agent.homeSystems();
                for (int i = 0; i < homes.size(); i++) {
                    system(problems, "home_systems[" + i + "]", homes.get(i));
                }
            }
            case Tool tool -> {
                system(problems, "target_system", tool.targetSystem());
                if (tool.argumentSchema() != null && !tool.argumentSchema().isNull() && !tool.argumentSchema().isObject()) {
                    problems.put("argument_schema", "must be a JSON Schema object");
                }
            }
            case TargetSystem system -> {
                system(problems, "name", system.name());
                if (system.name() != null && Boolean.FALSE.equals(system.caseSensitive())
                        && CanonicalNames.systemProblem(system.name()) == null
                        && !CanonicalNames.fold(system.name()).equals(system.name())) {
                    problems.put("name", "of a case-insensitive system must be given folded (lower case): '"
                            + CanonicalNames.fold(system.name()) + "'");
                }
            }
            case CredentialProfile profile -> {
                if (profile.kind() == ProfileKind.TOKEN) {
                    if (profile.policies() == null || profile.policies().isEmpty()) {
                        problems.put("policies", "must name at least one policy for kind token");
                    }
                    if (profile.maxUses() == null) {
                        problems.put("max_uses", "is required for kind token");
                    }
                    if (profile.role() != null || profile.mount() != null) {
                        problems.put("role", "and mount are for kind dynamic only");
                    }
                } else if (profile.kind() == ProfileKind.DYNAMIC) {
                    if (profile.role() == null) {
                        problems.put("role", "is required for kind dynamic");
                    }
                    if (profile.policies() != null && !profile.policies().isEmpty()) {
                        problems.put("policies", "are for kind token only");
                    }
                    if (profile.maxUses() != null) {
                        problems.put("max_uses", "must be absent for kind dynamic (a database login has no use count)");
                    }
                    if (Boolean.TRUE.equals(profile.perAgent())) {
                        problems.put("per_agent", "is for kind token only");
                    }
                    if (Boolean.FALSE.equals(profile.wrapped())) {
                        problems.put("wrapped", "must be true for kind dynamic (the secret is never answered in clear)");
                    }
                }
            }
            case Classification rule -> {
                system(problems, "system", rule.system());
                if (rule.resourcePrefix() != null) {
                    String problem = CanonicalNames.resourceProblem(rule.resourcePrefix());
                    if (problem != null) {
                        problems.put("resource_prefix", problem);
                    }
                }
            }
            default -> {
            }
        }
        return problems;
    }

    private static void system(Map<String, String> problems, String field, String name) {
        if (name != null) {
            String problem = CanonicalNames.systemProblem(name);
            if (problem != null) {
                problems.put(field, problem);
            }
        }
    }
}

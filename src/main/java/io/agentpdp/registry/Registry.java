package io.agentpdp.registry;

import java.util.Locale;

import org.springframework.stereotype.Component;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The registry's entry for other features: the one identifier grammar of agents, the canonical form of
 * target names (refused when not canonical, never looked up raw) and the verification of the registry's
 * change log. The registry's own API (openapi.yaml, /v1/registry/**) is served inside this package.
 */
@Component
public class Registry {

    /** Agent ids everywhere (decision requests, the quarantine path, the registry): ASCII, no '/'. */
    public static final String AGENT_ID = "^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$";
    public static final String AGENT_ID_MESSAGE = "must be an agent id (ASCII letters, digits, ._:-; no '/'), at most 128 characters";

    private final ChangeLog changes;

    Registry(ChangeLog changes) {
        this.changes = changes;
    }

    /**
     * A call's target in canonical form, with the keys it is looked up by in a case-sensitive and in a
     * case-insensitive system (which one applies is the registry's, read with the decision's context).
     */
    /** The kinds of action a tool call can be: what a tool is registered for and what a decide request names. */
    public enum ActionKind {
        @JsonProperty("read") READ,
        @JsonProperty("write") WRITE,
        @JsonProperty("delete") DELETE,
        @JsonProperty("execute") EXECUTE,
        @JsonProperty("payment") PAYMENT,
        @JsonProperty("privilege_grant") PRIVILEGE_GRANT,
        @JsonProperty("secret_read") SECRET_READ;

        public String wire() {
            return name().toLowerCase(Locale.ROOT);
        }

        static ActionKind fromWire(String value) {
            return valueOf(value.toUpperCase(Locale.ROOT));
        }
    }

    public record Target(String system, String resource, String systemFolded, String resourceFolded) {
    }

    /** The target named by {@code system} and {@code resource}, if both are canonical. */
    public Target canonicalTarget(String system, String resource) {
        String problem = CanonicalNames.systemProblem(system);
        if (problem != null) {
            throw new NonCanonicalNameException("target.system " + problem + ".");
        }
        problem = CanonicalNames.resourceProblem(resource);
        if (problem != null) {
            throw new NonCanonicalNameException("target.resource " + problem + ".");
        }
        return new Target(system, resource, CanonicalNames.fold(system), CanonicalNames.fold(resource));
    }

    /** The key of a canonical name in a case-insensitive system (NFC, then {@code Locale.ROOT} lower case). */
    public static String fold(String canonical) {
        return CanonicalNames.fold(canonical);
    }

    /** A name that is not in the canonical syntax; the message says what is wrong with it. */
    public static final class NonCanonicalNameException extends RuntimeException {
        NonCanonicalNameException(String message) {
            super(message);
        }
    }

    /** Result of walking a tenant's registry change log. */
    public record ChangeLogVerification(long recordsChecked, boolean valid, Long brokenAtSeq, String problem) {
    }

    /** Recomputes the tenant's registry change-log chain and reports the first broken link. */
    public ChangeLogVerification verifyChangeLog(String tenant) {
        return changes.verify(tenant);
    }
}

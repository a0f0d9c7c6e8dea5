package io.agentpdp.credential;

import java.time.Duration;
import java.util.List;

/**
 * A tool's credential profile, as the decision's context read it from the registry (table credential_profile):
 * what any credential minted for a call of that tool may be. Names of Vault objects are the tenant's short names;
 * {@link #grantable(String)} adds the tenant's prefix (the layout of docs/operations.md).
 *
 * @param name     the profile's registry name ({@code Tool.credential_profile})
 * @param kind     a token with policies, or a dynamic secret of a secrets-engine role
 * @param policies {@link Kind#TOKEN}: the tenant's policy names without prefix
 * @param perAgent {@link Kind#TOKEN}: bind the token to the agent's entity alias ({@code <tenant>/agents/<agent>})
 * @param mount    {@link Kind#DYNAMIC}: the engine's mount (e.g. {@code database})
 * @param role     {@link Kind#DYNAMIC}: the engine's role without the tenant prefix
 * @param maxTtl   the TTL cap
 * @param maxUses  {@link Kind#TOKEN}: the use cap (null for {@link Kind#DYNAMIC})
 * @param wrapped  response-wrap the credential (always for {@link Kind#DYNAMIC})
 */
public record CredentialProfile(String name, Kind kind, List<String> policies, boolean perAgent, String mount,
                                String role, Duration maxTtl, Integer maxUses, boolean wrapped) {

    /**
     * Tenants whose names can name Vault objects: lower case, no '.' or '/', so no prefix is another's
     * ({@code ^[a-z0-9][a-z0-9_-]{0,62}$}, checked by {@link #vaultName(String, int)}).
     */
    static final int MAX_TENANT_LENGTH = 63;
    /** A Vault object's short name: {@code ^[a-z0-9][a-z0-9_-]{0,63}$} (the registry's {@code Specs.VAULT_NAME}). */
    static final int MAX_NAME_LENGTH = 64;

    public enum Kind {
        TOKEN, DYNAMIC;

        public static Kind fromWire(String value) {
            return valueOf(value.toUpperCase(java.util.Locale.ROOT));
        }

        public String wire() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public CredentialProfile {
        policies = policies == null ? List.of() : List.copyOf(policies);
    }

    /** Whether OpenBao objects can be named for this tenant at all (else nothing is minted for it). */
    public static boolean vaultTenant(String tenant) {
        return vaultName(tenant, MAX_TENANT_LENGTH);
    }

    /**
     * What this profile lets the PDP grant in {@code tenant}: the Vault policies {@code tenant.<tenant>.<name>}
     * of a token profile, or the one engine path {@code <mount>/creds/<tenant>.<role>} of a dynamic one. Empty
     * when the tenant or a name cannot be a Vault name (nothing is grantable then).
     */
    public List<String> grantable(String tenant) {
        if (!vaultTenant(tenant)) {
            return List.of();
        }
        if (kind == Kind.DYNAMIC) {
            return valid(mount) && valid(role) ? List.of(mount + "/creds/" + tenant + "." + role) : List.of();
        }
        return policies.stream().allMatch(CredentialProfile::valid)
                ? policies.stream().map(policy -> tokenPolicy(tenant, policy)).toList() : List.of();
    }

    /** The profile as the policy sees it (input.tool.credential_profile): what it may grant in this tenant, its caps. */
    public java.util.Map<String, Object> policyInput(String tenant) {
        java.util.Map<String, Object> input = new java.util.LinkedHashMap<>();
        input.put("name", name);
        input.put("kind", kind.wire());
        input.put("grantable", grantable(tenant));
        input.put("per_agent", perAgent);
        input.put("max_ttl_seconds", maxTtl.toSeconds());
        input.put("max_uses", maxUses);
        return input;
    }

    static String tokenPolicy(String tenant, String policy) {
        return "tenant." + tenant + "." + policy;
    }

    private static boolean valid(String name) {
        return vaultName(name, MAX_NAME_LENGTH);
    }

    /**
     * {@code ^[a-z0-9][a-z0-9_-]{0,maxLength-1}$} without a regex: checked on every minting decision, where a matcher
     * cost about 2 % of the PDP's CPU. {@code CredentialProfileNameTest} holds it to the regular expression.
     */
    static boolean vaultName(String name, int maxLength) {
        if (name == null || name.isEmpty() || name.length() > maxLength) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            boolean alphanumeric = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
            if (!alphanumeric && (i == 0 || (c != '_' && c != '-'))) {
                return false;
            }
        }
        return true;
    }
}

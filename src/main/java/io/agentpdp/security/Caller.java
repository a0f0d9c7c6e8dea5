package io.agentpdp.security;

import java.util.Set;

/**
 * The authenticated caller of an endpoint, resolved from the bearer JWT. Controllers declare it as a
 * parameter; the tenant in it is the only tenant the caller may act for.
 */
public record Caller(String subject, String tenant, Set<String> scopes) {

    public static final String DECIDE = "decide";
    public static final String APPROVER = "approver";
    public static final String SECURITY_ADMIN = "security-admin";

    public boolean hasScope(String scope) {
        return scopes.contains(scope);
    }
}

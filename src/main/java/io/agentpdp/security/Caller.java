package io.agentpdp.security;

import java.io.IOException;
import java.util.Set;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import io.agentpdp.web.Problems;

/**
 * The authenticated caller of an endpoint, resolved from the bearer JWT. Controllers declare it as a
 * parameter; the tenant in it is the only tenant the caller may act for. {@link #subject()} is the raw
 * {@code sub} for display and logs; who the caller is, for any comparison, is {@link #principal()}.
 */
public record Caller(String subject, String tenant, Set<String> scopes, Principal principal) {

    public static final String DECIDE = "decide";
    public static final String APPROVER = "approver";
    public static final String SECURITY_ADMIN = "security-admin";
    /** Writes the tenant's registry (agents, tools, systems, enforcement points, classification rules). */
    public static final String REGISTRY_ADMIN = "registry-admin";

    /** Request attribute holding the caller, set once per request right after bearer authentication. */
    static final String ATTRIBUTE = Caller.class.getName();

    /** Request attribute saying why an authenticated token is no caller (it names no tenant). */
    static final String UNKNOWN = Caller.class.getName() + ".unknown";

    /**
     * The request's known caller (valid JWT with a tenant), resolved once by the security chain; without one a 403
     * problem, as for a controller's {@code Caller} parameter.
     */
    public static Caller of(ServletRequest request) {
        if (request.getAttribute(ATTRIBUTE) instanceof Caller caller) {
            return caller;
        }
        throw new Problems.ApiException(403, "Forbidden",
                request.getAttribute(UNKNOWN) instanceof String why ? why : "No authenticated caller.");
    }

    public boolean hasScope(String scope) {
        return scopes.contains(scope);
    }

    /**
     * Wraps the handling of a request once its caller is known (valid JWT with a tenant) and before the
     * scope checks, so it sees every answer given to that caller, scope refusals included. Features
     * contribute one as a bean (in {@code @Order}, every one that applies wraps the next); requests without a
     * known caller never reach it.
     */
    public interface Interceptor {

        boolean appliesTo(HttpServletRequest request);

        /** Must pass the request on through {@code chain}. */
        void handle(Caller caller, HttpServletRequest request, HttpServletResponse response, FilterChain chain)
                throws IOException, ServletException;
    }
}

package io.agentpdp.security;

import java.io.IOException;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.security.core.Authentication;
import org.springframework.security.core.GrantedAuthority;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Sits on the API chain right after bearer authentication and before the scope checks: once the caller
 * is known, every {@link Caller.Interceptor} that applies wraps the rest of the request, the first in order
 * outermost. Not a bean, so it is never registered a second time as a servlet filter of its own.
 */
final class CallerFilter extends OncePerRequestFilter {

    private final String tenantClaim;
    private final List<Caller.Interceptor> interceptors;
    private final Principals principals;

    CallerFilter(String tenantClaim, List<Caller.Interceptor> interceptors, Principals principals) {
        this.principals = principals;
        this.tenantClaim = tenantClaim;
        this.interceptors = interceptors;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        Authentication authentication = SecurityContextHolder.getContext().getAuthentication();
        Caller caller = resolve(authentication, tenantClaim, principals);
        if (caller != null) {
            // Resolved once per request: the controller's Caller parameter reads it from here.
            request.setAttribute(Caller.ATTRIBUTE, caller);
            intercepted(caller, 0, chain).doFilter(request, response);
            return;
        }
        if (authentication != null) {
            request.setAttribute(Caller.UNKNOWN, "The token carries no '" + tenantClaim + "' claim.");
        }
        chain.doFilter(request, response);
    }

    /** The rest of the chain wrapped by every interceptor from {@code index} on that applies, in their order. */
    private FilterChain intercepted(Caller caller, int index, FilterChain chain) {
        return (request, response) -> {
            for (int i = index; i < interceptors.size(); i++) {
                Caller.Interceptor interceptor = interceptors.get(i);
                if (interceptor.appliesTo((HttpServletRequest) request)) {
                    interceptor.handle(caller, (HttpServletRequest) request, (HttpServletResponse) response,
                            intercepted(caller, i + 1, chain));
                    return;
                }
            }
            chain.doFilter(request, response);
        };
    }

    /**
     * The caller of a JWT authentication, or null without one, when the token names no tenant (as one string)
     * or when its issuer and subject are no canonical principal (white space around, control characters).
     */
    static Caller resolve(Authentication authentication, String tenantClaim, Principals principals) {
        if (authentication == null || !(authentication.getPrincipal() instanceof Jwt jwt)) {
            return null;
        }
        // Only a string names a tenant: getClaimAsString would turn ["a","b"] into the tenant "[a, b]".
        if (!(jwt.getClaims().get(tenantClaim) instanceof String tenant) || tenant.isBlank()) {
            return null;
        }
        Set<String> scopes = new TreeSet<>();
        for (GrantedAuthority authority : authentication.getAuthorities()) {
            String name = authority.getAuthority();
            if (name != null && name.startsWith("SCOPE_")) {
                scopes.add(name.substring("SCOPE_".length()));
            }
        }
        Principal principal;
        try {
            principal = principals.of(jwt.getClaimAsString("iss"), jwt.getSubject());
        } catch (IllegalArgumentException e) {
            return null;
        }
        return new Caller(jwt.getSubject(), tenant, Set.copyOf(scopes), principal);
    }
}

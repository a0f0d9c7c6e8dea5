package io.agentpdp.security;

import java.util.Set;

import org.springframework.stereotype.Component;

/**
 * Makes canonical {@link Principal}s with this deployment's rules ({@code pdp.security.case-insensitive-issuers}).
 * A name stored without an issuer (today's {@code agent.owner}) is a subject of the PDP's own issuer
 * ({@code pdp.security.issuer}): the identity provider the approvers' tokens come from.
 */
@Component
public class Principals {

    private final String issuer;
    private final Set<String> caseInsensitiveIssuers;

    @org.springframework.beans.factory.annotation.Autowired
    Principals(SecurityProperties properties,
               org.springframework.boot.security.oauth2.server.resource.autoconfigure.OAuth2ResourceServerProperties resourceServer) {
        this(JwtDecoderConfig.expectedIssuer(resourceServer.getJwt(), properties), properties.caseInsensitiveIssuers());
    }

    public Principals(String issuer, Set<String> caseInsensitiveIssuers) {
        this.issuer = issuer;
        this.caseInsensitiveIssuers = Set.copyOf(caseInsensitiveIssuers);
    }

    /** The canonical principal of {@code subject} at {@code issuer}; throws IllegalArgumentException if malformed. */
    public Principal of(String issuer, String subject) {
        return Principal.of(issuer, subject, caseInsensitiveIssuers);
    }

    /** A subject of the PDP's own issuer (a stored name without issuer). */
    public Principal local(String subject) {
        return of(issuer, subject);
    }

    /**
     * A stored principal: a principal id ({@code issuer|subject}) is canonicalised again (the rules may have
     * changed since), anything else is a subject of the PDP's own issuer.
     */
    public Principal stored(String value) {
        if (value != null && value.indexOf('|') > 0) {
            Principal parsed = Principal.parse(value);
            return of(parsed.issuer(), parsed.subject());
        }
        return local(value);
    }
}

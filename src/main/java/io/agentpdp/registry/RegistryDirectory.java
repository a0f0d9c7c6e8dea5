package io.agentpdp.registry;

import java.util.Optional;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

import io.agentpdp.approval.Approvals;
import io.agentpdp.security.Principal;
import io.agentpdp.security.Principals;

/**
 * What the approval module needs from the registry when it opens a request: the principal owning an agent
 * ({@code owner_issuer} and {@code owner}; a bare owner is a subject of the PDP's own issuer).
 */
@Component
class RegistryDirectory implements Approvals.Directory {

    private final JdbcClient jdbc;
    private final Principals principals;

    RegistryDirectory(JdbcClient jdbc, Principals principals) {
        this.jdbc = jdbc;
        this.principals = principals;
    }

    @Override
    public Principal agentOwner(String tenant, String agentId, String storedOwner) {
        record Owner(String issuer, String subject) {
        }
        Optional<Owner> owner = jdbc.sql("select owner_issuer, owner from agent where tenant_id = :tenant and agent_id = :agent")
                .param("tenant", tenant)
                .param("agent", agentId)
                .query((rs, n) -> new Owner(rs.getString("owner_issuer"), rs.getString("owner")))
                .optional();
        if (owner.isEmpty() || owner.get().subject() == null || owner.get().subject().isBlank()) {
            return null;
        }
        return owner.get().issuer() == null || owner.get().issuer().isBlank() ? principals.local(owner.get().subject())
                : principals.of(owner.get().issuer(), owner.get().subject());
    }
}

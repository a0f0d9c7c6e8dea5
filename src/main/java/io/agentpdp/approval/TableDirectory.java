package io.agentpdp.approval;

import java.util.Optional;

import org.springframework.stereotype.Component;

import io.agentpdp.security.Principal;
import io.agentpdp.security.Principals;

/**
 * {@link Approvals.Directory} on today's tables, until the registry provides one: no tool has an argument
 * schema yet, and {@code agent.owner} (a bare name, or a principal id {@code issuer|subject}) is a subject
 * of the PDP's own issuer ({@code pdp.security.issuer}).
 */
@Component
class TableDirectory implements Approvals.Directory {

    private final Principals principals;

    TableDirectory(Principals principals) {
        this.principals = principals;
    }

    @Override
    public Optional<Approvals.ToolFacts> tool(String tenant, String tool) {
        return Optional.empty();
    }

    @Override
    public Principal agentOwner(String tenant, String agentId, String storedOwner) {
        if (storedOwner == null || storedOwner.isBlank()) {
            return null;
        }
        return principals.stored(storedOwner);
    }
}

package io.agentpdp.audit;

import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

import com.fasterxml.jackson.annotation.JsonUnwrapped;

import io.agentpdp.registry.Registry;
import io.agentpdp.security.Caller;

/** security-admin verifies the tamper-evident decision trail of its own tenant, and its registry change log. */
@RestController
class AuditController {

    private final AuditTrail audit;
    private final Registry registry;

    AuditController(AuditTrail audit, Registry registry) {
        this.audit = audit;
        this.registry = registry;
    }

    /** The decision trail's verification at the top level (as before) and the registry change log's beside it. */
    record Verification(@JsonUnwrapped AuditTrail.ChainVerification decisions,
                        Registry.ChangeLogVerification registryChanges) {
    }

    @GetMapping(path = "/v1/audit/verify", produces = MediaType.APPLICATION_JSON_VALUE)
    Verification verify(Caller caller) {
        return new Verification(audit.verifyChain(caller.tenant()), registry.verifyChangeLog(caller.tenant()));
    }
}

package io.agentpdp.audit;

import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

import io.agentpdp.security.Caller;

/** security-admin verifies the tamper-evident decision trail of its own tenant. */
@RestController
class AuditController {

    private final AuditTrail audit;

    AuditController(AuditTrail audit) {
        this.audit = audit;
    }

    @GetMapping(path = "/v1/audit/verify", produces = MediaType.APPLICATION_JSON_VALUE)
    AuditTrail.ChainVerification verify(Caller caller) {
        return audit.verifyChain(caller.tenant());
    }
}

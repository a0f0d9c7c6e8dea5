package io.agentpdp.decision;

import java.util.UUID;

import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;

import io.agentpdp.audit.AuditTrail;
import io.agentpdp.security.Caller;
import io.agentpdp.web.Problems;

/** Reads one recorded decision; {@code POST /v1/decisions} itself is {@link DecideServlet}, outside MVC. */
@RestController
class DecisionController {

    private final AuditTrail audit;

    DecisionController(AuditTrail audit) {
        this.audit = audit;
    }

    @GetMapping(path = "/v1/decisions/{decisionId}", produces = MediaType.APPLICATION_JSON_VALUE)
    DecisionView get(Caller caller, @PathVariable UUID decisionId) {
        return audit.findDecision(caller.tenant(), decisionId)
                .map(DecisionView::of)
                .orElseThrow(() -> new Problems.ApiException(404, "Not found", "No decision " + decisionId + " for this tenant."));
    }
}

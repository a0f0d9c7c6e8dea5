package io.agentpdp.decision;

import java.util.UUID;

import jakarta.validation.Valid;

import org.springframework.http.MediaType;
import org.springframework.web.bind.WebDataBinder;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.InitBinder;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

import io.agentpdp.audit.AuditTrail;
import io.agentpdp.security.Caller;
import io.agentpdp.web.Problems;

@RestController
class DecisionController {

    private final DecisionService decisions;
    private final AuditTrail audit;
    private final DecisionRequestValidator validator;

    DecisionController(DecisionService decisions, AuditTrail audit, DecisionRequestValidator validator) {
        this.decisions = decisions;
        this.audit = audit;
        this.validator = validator;
    }

    /** The request body is validated once, by the plain check first ({@link DecisionRequestValidator}). */
    @InitBinder("decisionRequest")
    void validation(WebDataBinder binder) {
        binder.setValidator(validator);
    }

    @PostMapping(path = "/v1/decisions", consumes = MediaType.APPLICATION_JSON_VALUE, produces = MediaType.APPLICATION_JSON_VALUE)
    Decision decide(Caller caller, @Valid @RequestBody DecisionRequest request) {
        return decisions.decide(caller, request);
    }

    @GetMapping(path = "/v1/decisions/{decisionId}", produces = MediaType.APPLICATION_JSON_VALUE)
    DecisionView get(Caller caller, @PathVariable UUID decisionId) {
        return audit.findDecision(caller.tenant(), decisionId)
                .map(DecisionView::of)
                .orElseThrow(() -> new Problems.ApiException(404, "Not found", "No decision " + decisionId + " for this tenant."));
    }
}

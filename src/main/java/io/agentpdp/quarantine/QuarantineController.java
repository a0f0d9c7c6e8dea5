package io.agentpdp.quarantine;

import java.util.List;

import jakarta.validation.Valid;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.Pattern;
import jakarta.validation.constraints.Size;

import org.springframework.http.MediaType;
import org.springframework.validation.annotation.Validated;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

import io.agentpdp.registry.Registry;
import io.agentpdp.security.Caller;

/** security-admin's kill switch: quarantine, release, state and history, always within the caller's tenant. */
@RestController
@Validated
class QuarantineController {

    /** The one agent id grammar: every agent the registry can hold can be quarantined. */
    private static final String AGENT_ID = Registry.AGENT_ID;

    private final Quarantine quarantine;

    QuarantineController(Quarantine quarantine) {
        this.quarantine = quarantine;
    }

    record ReasonRequest(@NotBlank @Size(max = 1000)
                         @Pattern(regexp = "^[^\\p{Cntrl}]*$", message = "must not contain control characters") String reason) {
    }

    record StateView(Quarantine.State state, List<Quarantine.Event> history) {
    }

    @PostMapping(path = "/v1/agents/{agentId}/quarantine", consumes = MediaType.APPLICATION_JSON_VALUE,
            produces = MediaType.APPLICATION_JSON_VALUE)
    Quarantine.Outcome quarantine(Caller caller, @PathVariable @Pattern(regexp = AGENT_ID) String agentId,
                                  @Valid @RequestBody ReasonRequest request) {
        return quarantine.quarantine(caller.tenant(), agentId, request.reason(), caller.principal().id());
    }

    @PostMapping(path = "/v1/agents/{agentId}/quarantine/release", consumes = MediaType.APPLICATION_JSON_VALUE,
            produces = MediaType.APPLICATION_JSON_VALUE)
    Quarantine.State release(Caller caller, @PathVariable @Pattern(regexp = AGENT_ID) String agentId,
                             @Valid @RequestBody ReasonRequest request) {
        return quarantine.release(caller.tenant(), agentId, request.reason(), caller.principal().id());
    }

    @GetMapping(path = "/v1/agents/{agentId}/quarantine", produces = MediaType.APPLICATION_JSON_VALUE)
    StateView state(Caller caller, @PathVariable @Pattern(regexp = AGENT_ID) String agentId) {
        Quarantine.State state = quarantine.state(caller.tenant(), agentId)
                .orElse(new Quarantine.State(agentId, false, null, null, null, null, 0));
        return new StateView(state, quarantine.history(caller.tenant(), agentId));
    }
}

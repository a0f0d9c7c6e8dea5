package io.agentpdp.audit;

import java.util.List;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;

import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

import com.fasterxml.jackson.annotation.JsonUnwrapped;

import io.agentpdp.credential.TransitSigner;
import io.agentpdp.registry.Registry;
import io.agentpdp.security.Caller;
import io.agentpdp.web.Problems;

/**
 * security-admin verifies its own tenant's tamper-evident decision trail (and its registry change log), and reads
 * or takes its signed checkpoints.
 */
@RestController
class AuditController {

    private final AuditVerifier verifier;
    private final AuditCheckpoints checkpoints;
    private final Registry registry;

    AuditController(AuditVerifier verifier, AuditCheckpoints checkpoints, Registry registry) {
        this.verifier = verifier;
        this.checkpoints = checkpoints;
        this.registry = registry;
    }

    /** The decision trail's verification at the top level (as before) and the registry change log's beside it. */
    record Verification(@JsonUnwrapped AuditVerification decisions, Registry.ChangeLogVerification registryChanges) {
    }

    /** One page of checkpoints, newest first. */
    record CheckpointPage(List<AuditCheckpoint> items, int page, int size, long total) {
    }

    @GetMapping(path = "/v1/audit/verify", produces = MediaType.APPLICATION_JSON_VALUE)
    Verification verify(Caller caller) {
        try {
            return new Verification(verifier.verify(caller.tenant()), registry.verifyChangeLog(caller.tenant()));
        } catch (TransitSigner.TransitUnavailableException e) {
            throw unavailable("verified", e);
        }
    }

    @GetMapping(path = "/v1/audit/checkpoints", produces = MediaType.APPLICATION_JSON_VALUE)
    CheckpointPage checkpoints(Caller caller,
                               @RequestParam(defaultValue = "0") @Min(0) @Max(100000) int page,
                               @RequestParam(defaultValue = "20") @Min(1) @Max(100) int size) {
        return new CheckpointPage(checkpoints.page(caller.tenant(), page, size), page, size,
                checkpoints.count(caller.tenant()));
    }

    @PostMapping(path = "/v1/audit/checkpoints", produces = MediaType.APPLICATION_JSON_VALUE)
    AuditCheckpoint checkpoint(Caller caller) {
        try {
            return checkpoints.checkpoint(caller.tenant())
                    .orElseThrow(() -> new Problems.ApiException(409, "Nothing to checkpoint",
                            "The tenant has no decision records yet."));
        } catch (AuditCheckpoints.HeadNotExtendingCheckpointException e) {
            throw new Problems.ApiException(409, "Audit chain not checkpointed",
                    "The chain's head does not extend its latest signed checkpoint (" + e.getMessage()
                            + "); GET /v1/audit/verify reports the details.");
        } catch (TransitSigner.TransitUnavailableException e) {
            throw unavailable("signed", e);
        }
    }

    private static Problems.ApiException unavailable(String what, TransitSigner.TransitUnavailableException cause) {
        return new Problems.ApiException(503, "Audit signing key unavailable",
                "The audit checkpoints cannot be " + what + " now: the transit key in Vault is unreachable or refused.",
                null, cause);
    }
}

package io.agentpdp.approval;

import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Size;

import org.springframework.core.task.SimpleAsyncTaskExecutor;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.context.request.async.WebAsyncTask;

import io.agentpdp.security.Caller;
import io.agentpdp.web.Problems;

/** The approvers' API and the enforcement point's wait for a verdict (openapi.yaml: approvals). */
@RestController
class ApprovalController {

    private static final Pattern WAIT = Pattern.compile("^([0-9]{1,5})(ms|s)$");

    /** Past the wait's own deadline: the time its last read and answer may take before MVC gives up on it. */
    private static final Duration ASYNC_MARGIN = Duration.ofSeconds(10);

    private final Approvals approvals;
    private final ApprovalWaits waits;
    private final ApprovalProperties properties;
    /** One virtual thread per waiting long-poll; how many may wait is {@link WaitSlots}' rule. */
    private final SimpleAsyncTaskExecutor waiters = new SimpleAsyncTaskExecutor("approval-wait-");

    ApprovalController(Approvals approvals, ApprovalWaits waits, ApprovalProperties properties) {
        this.approvals = approvals;
        this.waits = waits;
        this.properties = properties;
        this.waiters.setVirtualThreads(true);
    }

    enum Status { PENDING, APPROVED, DENIED, EXPIRED, CONSUMED, CANCELLED }

    record VoteRequest(@NotNull @NotBlank @Size(max = 1000) String comment) {
    }

    @GetMapping(path = "/v1/approvals", produces = MediaType.APPLICATION_JSON_VALUE)
    ApprovalView.Page list(Caller caller,
                           @RequestParam(defaultValue = "PENDING") Status status,
                           @RequestParam(name = "agent_id", required = false)
                           @jakarta.validation.constraints.Pattern(regexp = "^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$") String agentId,
                           @RequestParam(defaultValue = "0") @Min(0) @Max(100000) int page,
                           @RequestParam(defaultValue = "20") @Min(1) @Max(100) int size) {
        return approvals.list(caller, status.name(), agentId, page, size);
    }

    @GetMapping(path = "/v1/approvals/{approvalId}", params = "!wait", produces = MediaType.APPLICATION_JSON_VALUE)
    ApprovalView get(Caller caller, @PathVariable UUID approvalId) {
        return approvals.view(caller, approvalId);
    }

    /**
     * The long-poll. Its parameter is checked on the request thread; the wait itself runs on a virtual thread of
     * its own (servlet async), so that a replica's waiting enforcement points hold no request thread: those serve
     * decisions. The task's own deadline is the wait plus a margin; the wait answers at its deadline by itself.
     */
    @GetMapping(path = "/v1/approvals/{approvalId}", params = "wait", produces = MediaType.APPLICATION_JSON_VALUE)
    WebAsyncTask<ApprovalView> await(Caller caller, @PathVariable UUID approvalId, @RequestParam String wait) {
        Duration duration = parseWait(wait);
        Callable<ApprovalView> answer = duration.isZero() ? () -> approvals.view(caller, approvalId)
                : () -> waits.await(caller, approvalId, duration);
        return new WebAsyncTask<>(duration.plus(ASYNC_MARGIN).toMillis(), waiters, answer);
    }

    @PostMapping(path = "/v1/approvals/{approvalId}/approve", consumes = MediaType.APPLICATION_JSON_VALUE,
            produces = MediaType.APPLICATION_JSON_VALUE)
    ApprovalView approve(Caller caller, @PathVariable UUID approvalId, @Valid @RequestBody VoteRequest body) {
        return approvals.vote(caller, approvalId, true, body.comment());
    }

    @PostMapping(path = "/v1/approvals/{approvalId}/deny", consumes = MediaType.APPLICATION_JSON_VALUE,
            produces = MediaType.APPLICATION_JSON_VALUE)
    ApprovalView deny(Caller caller, @PathVariable UUID approvalId, @Valid @RequestBody VoteRequest body) {
        return approvals.vote(caller, approvalId, false, body.comment());
    }

    private Duration parseWait(String wait) {
        Matcher m = WAIT.matcher(wait);
        if (!m.matches()) {
            throw new Problems.ApiException(400, "Invalid request", "Parameter 'wait' must look like 10s or 500ms.");
        }
        long amount = Long.parseLong(m.group(1));
        Duration duration = "ms".equals(m.group(2)) ? Duration.ofMillis(amount) : Duration.ofSeconds(amount);
        if (duration.compareTo(properties.maxWait()) > 0) {
            throw new Problems.ApiException(400, "Invalid request",
                    "Parameter 'wait' may be at most " + properties.maxWait().toSeconds() + "s.");
        }
        return duration;
    }
}

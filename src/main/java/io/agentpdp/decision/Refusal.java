package io.agentpdp.decision;

import java.util.UUID;

import io.agentpdp.web.Problems;

/**
 * A step refuses the request after deciding it: the pipeline's edge records a DENY with {@link #reason} (cause
 * {@code refusal}) and answers a problem with {@code decision: DENY} that names the record. Refusals of a request
 * that is not decided at all (429, invalid arguments) are {@link Problems.ApiException}s, recorded by
 * {@link RefusalRecorder} as {@code request_refused}.
 */
final class Refusal extends RuntimeException {

    final int status;
    final String title;
    final String reason;

    Refusal(int status, String title, String detail, String reason) {
        super(detail, null, false, false);
        this.status = status;
        this.title = title;
        this.reason = reason;
    }

    Problems.ApiException problem(UUID decisionId) {
        return new Problems.ApiException(status, title, getMessage(), decisionId, null);
    }
}

package io.agentpdp.web;

import java.io.IOException;
import java.net.URI;
import java.util.UUID;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.stereotype.Component;

import tools.jackson.databind.json.JsonMapper;

/**
 * Builds the RFC 9457 answers of the whole API. Anything on the decision path carries
 * {@code decision: DENY}: an error is never an allow.
 */
@Component
public class Problems {

    private static final String DECISION_PATH = "/v1/decisions";

    private final JsonMapper json;

    Problems(JsonMapper json) {
        this.json = json;
    }

    /** Writes a problem directly to the servlet response (filters and security handlers). */
    public void write(HttpServletRequest request, HttpServletResponse response, int status, String title, String detail)
            throws IOException {
        ProblemDetail problem = problem(request, status, title, detail);
        response.setStatus(status);
        response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
        response.getOutputStream().write(json.writeValueAsBytes(problem));
    }

    ProblemDetail problem(HttpServletRequest request, int status, String title, String detail) {
        return problem(request.getRequestURI(), status, title, detail);
    }

    /** A problem about {@code path}, which need not be the request's (an error page names the path that failed). */
    ProblemDetail problem(String path, int status, String title, String detail) {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.valueOf(status), detail);
        problem.setTitle(title);
        problem.setInstance(URI.create(path));
        if (path.startsWith(DECISION_PATH)) {
            problem.setProperty("decision", "DENY");
        }
        return problem;
    }

    /**
     * A feature's way to end a request with a problem answer: thrown anywhere below a controller,
     * rendered by the one exception handler of the API.
     */
    public static class ApiException extends RuntimeException {

        private final int status;
        private final String title;
        private final UUID decisionId;

        public ApiException(int status, String title, String detail) {
            this(status, title, detail, null, null);
        }

        public ApiException(int status, String title, String detail, UUID decisionId, Throwable cause) {
            super(detail, cause);
            this.status = status;
            this.title = title;
            this.decisionId = decisionId;
        }

        public int status() {
            return status;
        }

        public String title() {
            return title;
        }

        public UUID decisionId() {
            return decisionId;
        }
    }
}

package io.agentpdp.web;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.valves.ErrorReportValve;
import org.apache.coyote.ActionCode;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;

import tools.jackson.databind.json.JsonMapper;

/**
 * Tomcat's error report as an RFC 9457 problem instead of its HTML page. It answers only what no servlet
 * answered: above all the URLs Tomcat refuses before the application sees them (an invalid %-escape,
 * NUL, an encoded slash or backslash, a character HTTP does not allow in a request target). Nothing of
 * the request is echoed, and no exception or server version is shown.
 */
final class ProblemErrorReportValve extends ErrorReportValve {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String DECISION_PATH = "/v1/decisions";

    ProblemErrorReportValve() {
        setShowReport(false);
        setShowServerInfo(false);
    }

    @Override
    protected void report(Request request, Response response, Throwable throwable) {
        int status = response.getStatus();
        // As Tomcat's own: only an error, only once, only if nothing was written and the connection still takes output.
        if (status < 400 || response.getContentWritten() > 0 || !response.setErrorReported()) {
            return;
        }
        AtomicBoolean ioAllowed = new AtomicBoolean(false);
        response.getCoyoteResponse().action(ActionCode.IS_IO_ALLOWED, ioAllowed);
        if (!ioAllowed.get()) {
            return;
        }
        try {
            response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
            response.setCharacterEncoding("UTF-8");
            PrintWriter writer = response.getReporter();
            if (writer != null) {
                writer.write(JSON.writeValueAsString(problem(status, request.getRequestURI())));
                response.finishResponse();
            }
        } catch (IOException | IllegalStateException e) {
            // The client is gone or the response was committed meanwhile: nothing left to tell it.
        }
    }

    static Map<String, Object> problem(int status, String path) {
        HttpStatus known = HttpStatus.resolve(status);
        Map<String, Object> problem = new LinkedHashMap<>();
        problem.put("type", "about:blank");
        problem.put("title", status == 400 ? "Bad request" : known == null ? "Error" : known.getReasonPhrase());
        problem.put("status", status);
        problem.put("detail", status == 400
                ? "The request was rejected: malformed URL (an invalid %-escape, an encoded slash or backslash, NUL or a character not allowed in a URL) or headers."
                : "The request failed; nothing was allowed.");
        // A request line Tomcat could not parse has no path: it may have been a decision, and it is not an allow.
        if (path == null || path.isEmpty() || path.startsWith(DECISION_PATH)) {
            problem.put("decision", "DENY");
        }
        return problem;
    }
}

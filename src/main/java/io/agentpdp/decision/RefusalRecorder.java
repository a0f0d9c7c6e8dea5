package io.agentpdp.decision;

import java.io.IOException;
import java.io.PrintWriter;
import java.time.Clock;
import java.util.List;
import java.util.UUID;
import java.util.regex.Pattern;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpServletResponseWrapper;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.http.HttpMethod;
import org.springframework.http.InvalidMediaTypeException;
import org.springframework.http.MediaType;
import org.springframework.security.web.servlet.util.matcher.PathPatternRequestMatcher;
import org.springframework.security.web.util.matcher.RequestMatcher;
import org.springframework.stereotype.Component;
import org.springframework.util.unit.DataSize;
import org.springframework.web.util.ContentCachingRequestWrapper;
import org.springframework.web.util.ContentCachingResponseWrapper;

import io.agentpdp.audit.AuditTrail;
import io.agentpdp.security.Caller;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * One audit record for every refused decision request, in one place. An error answer to
 * {@code POST /v1/decisions} from a known caller (valid JWT with a tenant) that the decision flow did not
 * record itself (400, 406, 413, 415, 429, a 403 for a missing scope, an unexpected 500) is written to the
 * caller's tenant trail as DENY with the reasons {@code request_refused} and {@code http_<status>}, before
 * the buffered answer leaves; the answer then names the record in {@code decision_id}. The request's fields
 * are taken from the body as far as it parses, never trusted: control characters stripped, cut to the
 * contract's lengths, {@link #UNKNOWN} where missing. Not recorded: 401 (no tenant to attribute it to; the
 * interceptor never sees it) and 503 (the decision store itself failed).
 */
@Component
class RefusalRecorder implements Caller.Interceptor {

    static final String REQUEST_REFUSED = "request_refused";
    /** Request attribute set once the decision flow has recorded the request. */
    static final String RECORDED = RefusalRecorder.class.getName() + ".recorded";
    /** Stands in for a field the refused request did not give as a string; never a valid identifier. */
    static final String UNKNOWN = "(unknown)";

    private static final Logger log = LoggerFactory.getLogger(RefusalRecorder.class);
    private static final RequestMatcher DECIDE = PathPatternRequestMatcher.withDefaults().matcher(HttpMethod.POST, "/v1/decisions");
    // Controls would break the canonical record content (unit separators); lone surrogates cannot be stored.
    private static final Pattern UNSTORABLE = Pattern.compile("[\\p{Cc}\\p{Cs}]");
    private static final Pattern UUID_TEXT = Pattern.compile("^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$");

    private final AuditTrail audit;
    private final DatabaseRetry database;
    private final DecisionMetrics metrics;
    private final JsonMapper json;
    private final Clock clock;
    private final int maxBodyBytes;

    RefusalRecorder(AuditTrail audit, DatabaseRetry database, DecisionMetrics metrics, JsonMapper json, Clock clock,
                    @Value("${pdp.web.max-body-size:64KB}") DataSize maxBodySize) {
        this.audit = audit;
        this.database = database;
        this.metrics = metrics;
        this.json = json;
        this.clock = clock;
        this.maxBodyBytes = (int) Math.min(Integer.MAX_VALUE - 1, maxBodySize.toBytes());
    }

    @Override
    public boolean appliesTo(HttpServletRequest request) {
        return DECIDE.matches(request);
    }

    @Override
    public void handle(Caller caller, HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws IOException, ServletException {
        ContentCachingRequestWrapper body = new ContentCachingRequestWrapper(request, maxBodyBytes);
        ErrorAnswerBuffer answer = new ErrorAnswerBuffer(response);
        try {
            chain.doFilter(body, answer);
            int status = answer.getStatus();
            if (status >= 400 && status != 401 && status != 503 && request.getAttribute(RECORDED) == null) {
                UUID decisionId = record(caller, status, read(body));
                if (decisionId != null && answer.buffered() != null) {
                    nameInAnswer(answer.buffered(), decisionId);
                }
            }
        } finally {
            if (answer.buffered() != null) {
                answer.buffered().copyBodyToResponse();
            }
        }
    }

    /**
     * Holds back the body of an error answer (status 400 or above when the body is first written), so that
     * {@link #nameInAnswer} can add the record's id; any other answer streams through unbuffered.
     */
    static final class ErrorAnswerBuffer extends HttpServletResponseWrapper {
        private ContentCachingResponseWrapper buffered;
        private boolean streaming;

        ErrorAnswerBuffer(HttpServletResponse response) {
            super(response);
        }

        ContentCachingResponseWrapper buffered() {
            return buffered;
        }

        private HttpServletResponse body() {
            if (buffered == null && !streaming) {
                if (getStatus() >= 400) {
                    buffered = new ContentCachingResponseWrapper((HttpServletResponse) getResponse());
                } else {
                    streaming = true;
                }
            }
            return buffered != null ? buffered : (HttpServletResponse) getResponse();
        }

        @Override
        public ServletOutputStream getOutputStream() throws IOException {
            return body().getOutputStream();
        }

        @Override
        public PrintWriter getWriter() throws IOException {
            return body().getWriter();
        }

        @Override
        public void setContentLength(int len) {
            body().setContentLength(len);
        }

        @Override
        public void setContentLengthLong(long len) {
            body().setContentLengthLong(len);
        }

        @Override
        public void flushBuffer() throws IOException {
            body().flushBuffer();
        }

        @Override
        public void resetBuffer() {
            super.resetBuffer();
            forgetBody();
        }

        @Override
        public void reset() {
            super.reset();
            forgetBody();
        }

        /** Drops what was held back; an uncommitted answer decides again whether to hold back its next body. */
        private void forgetBody() {
            if (buffered != null) {
                buffered.resetBuffer();
            }
            streaming = streaming && isCommitted();
        }
    }

    /** Writes the refusal; on failure the caller still gets its refusal (already a DENY), unrecorded. */
    private UUID record(Caller caller, int status, byte[] body) {
        JsonNode request = parse(body);
        JsonNode task = request.path("task");
        JsonNode depth = task.path("chain_depth");
        UUID id = UUID.randomUUID();
        AuditTrail.DecisionEntry entry = new AuditTrail.DecisionEntry(id, caller.tenant(),
                text(request.path("agent").path("id"), 128), text(task.path("id"), 128), uuid(task.path("parent_decision_id")),
                depth.isInt() && depth.intValue() >= 0 && depth.intValue() <= 1000 ? depth.intValue() : -1,
                text(request.path("tool"), 200), text(request.path("action"), 32),
                text(request.path("target").path("system"), 128), text(request.path("target").path("resource"), 512),
                text(request.path("data_classification"), 32), null, UNKNOWN, "DENY",
                List.of(REQUEST_REFUSED, "http_" + status), AuditTrail.Cause.REFUSAL, List.of(), uuid(request.path("approval_id")), null,
                caller.subject(), null, metrics.traceId(), clock.instant(), false, null);
        try {
            database.once(() -> audit.recordDecision(entry));
            metrics.refusal(status, true);
            return id;
        } catch (RuntimeException e) {
            metrics.refusal(status, false);
            log.error("A refused decision request (HTTP {}) of tenant {} could not be recorded", status, caller.tenant(), e);
            return null;
        }
    }

    /**
     * What the application read of the body; if it read nothing (refused before parsing), the body itself,
     * unless it is declared larger than the limit.
     */
    private byte[] read(ContentCachingRequestWrapper request) {
        byte[] read = request.getContentAsByteArray();
        if (read.length > 0 || request.getContentLengthLong() > maxBodyBytes) {
            return read;
        }
        try {
            return request.getInputStream().readNBytes(maxBodyBytes + 1);
        } catch (IOException | RuntimeException e) {
            return new byte[0];
        }
    }

    private JsonNode parse(byte[] body) {
        try {
            JsonNode root = body.length == 0 || body.length > maxBodyBytes ? null : json.readTree(body);
            return root != null && root.isObject() ? root : json.createObjectNode();
        } catch (JacksonException | IllegalArgumentException e) {
            return json.createObjectNode();
        }
    }

    private static String text(JsonNode node, int maxCodePoints) {
        if (!node.isString()) {
            return UNKNOWN;
        }
        String clean = UNSTORABLE.matcher(node.asString()).replaceAll("");
        if (clean.codePointCount(0, clean.length()) > maxCodePoints) {
            clean = clean.substring(0, clean.offsetByCodePoints(0, maxCodePoints));
        }
        return clean.isEmpty() ? UNKNOWN : clean;
    }

    private static UUID uuid(JsonNode node) {
        return node.isString() && UUID_TEXT.matcher(node.asString()).matches() ? UUID.fromString(node.asString()) : null;
    }

    /** Adds {@code decision_id} to the problem answer, so the enforcement point can cite the record. */
    private void nameInAnswer(ContentCachingResponseWrapper answer, UUID decisionId) {
        if (answer.isCommitted() || answer.getContentType() == null) {
            return;
        }
        try {
            if (!MediaType.APPLICATION_PROBLEM_JSON.isCompatibleWith(MediaType.parseMediaType(answer.getContentType()))) {
                return;
            }
            if (json.readTree(answer.getContentAsByteArray()) instanceof ObjectNode problem && !problem.has("decision_id")) {
                problem.put("decision_id", decisionId.toString());
                byte[] named = json.writeValueAsBytes(problem);
                answer.resetBuffer();
                answer.getOutputStream().write(named);
            }
        } catch (JacksonException | InvalidMediaTypeException | IOException e) {
            // The answer stays as it was: still a DENY, and the record exists.
        }
    }
}

package io.agentpdp.policy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.hc.client5.http.classic.methods.HttpGet;
import org.apache.hc.client5.http.classic.methods.HttpPost;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManager;
import org.apache.hc.core5.http.ConnectionRequestTimeoutException;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.io.entity.ByteArrayEntity;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.apache.hc.core5.util.Timeout;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.stereotype.Component;

import io.agentpdp.http.PooledHttpClients;
import tools.jackson.core.JsonGenerator;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Asks the OPA sidecar for a decision over REST. Anything but a well-formed result — OPA down, slow,
 * 5xx, no {@code result}, a result of the wrong shape — is a {@link PolicyUnavailableException}, which the
 * caller turns into DENY. Connections to the sidecar are pooled and kept alive; a request runs blocking on
 * the caller's thread (no hand-offs between client threads, which cost the JDK client an eighth of
 * the PDP's CPU).
 */
@Component("opa")
public class PolicyEngine implements HealthIndicator, DisposableBean {

    private static final Set<String> OUTCOMES = Set.of("ALLOW", "DENY", "STEP_UP", "CONSTRAIN");
    /** A decision document is a few hundred bytes; a larger answer is not read into memory. */
    private static final int MAX_ANSWER_BYTES = 1 << 20;

    private final PolicyProperties properties;
    private final JsonMapper json;
    private final PoolingHttpClientConnectionManager pool;
    private final CloseableHttpClient http;
    private final URI decisionUri;

    PolicyEngine(PolicyProperties properties, JsonMapper json) {
        this.properties = properties;
        this.json = json;
        this.pool = PooledHttpClients.pool(properties.maxConnections(), properties.connectTimeout(), properties.timeout(), null);
        this.http = PooledHttpClients.client(pool, properties.timeout());
        this.decisionUri = properties.url().resolve("/v1/data/" + properties.decisionPath() + "?provenance=true");
    }

    /** An answer from OPA: status and body, read completely. */
    private record Answer(int status, byte[] body) {
    }

    /** What a decision answers; the policy's {@code outcome} is one of these or the answer is invalid. */
    public enum Outcome {
        ALLOW, DENY, STEP_UP, CONSTRAIN;

        /** ALLOW and CONSTRAIN carry a credential. */
        public boolean grants() {
            return this == ALLOW || this == CONSTRAIN;
        }
    }

    /** A policy's verdict, already checked against the output contract. */
    public record Result(Outcome outcome,
                         List<String> reasons,
                         List<String> obligations,
                         CredentialGrant credential,
                         int requiredApprovals,
                         boolean quarantineRequested,
                         String quarantineReason,
                         String revision) {

        public boolean grantsCredential() {
            return outcome.grants();
        }
    }

    /**
     * What credential the policy grants: Vault policies, TTL and use count; {@code reuse}: the credential the
     * request says it holds may stand in for a new one (the PDP still checks it is that credential).
     */
    public record CredentialGrant(List<String> policies, Duration ttl, int numUses, boolean reuse) {
    }

    /** The policy engine gave no usable answer; {@link #reason()} is a stable reason code for the DENY. */
    public static final class PolicyUnavailableException extends Exception {
        private final String reason;

        PolicyUnavailableException(String reason, String message, Throwable cause) {
            super(message, cause);
            this.reason = reason;
        }

        public String reason() {
            return reason;
        }
    }

    /** The policy input document, written once, straight into the request body (no intermediate tree). */
    @FunctionalInterface
    public interface Input {
        void write(JsonGenerator generator);
    }

    /** Evaluates the decision policy for {@code input}. */
    public Result evaluate(Map<String, Object> input) throws PolicyUnavailableException {
        return evaluate(generator -> generator.writePOJO(input));
    }

    /** Evaluates the decision policy for the input {@code input} writes. */
    public Result evaluate(Input input) throws PolicyUnavailableException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(2048);
        try (JsonGenerator generator = json.createGenerator(out)) {
            generator.writeStartObject();
            generator.writeName("input");
            input.write(generator);
            generator.writeEndObject();
        }
        byte[] body = out.toByteArray();
        long start = System.nanoTime();
        Answer response;
        try {
            response = send(body);
        } catch (ConnectionRequestTimeoutException e) {
            throw timeout("no OPA connection was free within " + properties.timeout() + " (all "
                    + properties.maxConnections() + " in use)", e);
        } catch (SocketTimeoutException e) {
            throw timeout("OPA did not answer within " + properties.timeout(), e);
        } catch (ConnectException e) {
            throw new PolicyUnavailableException("policy_engine_unavailable", "OPA is unreachable", e);
        } catch (IOException | RuntimeException e) {
            // Anything else the client throws (a closed pool, say) is also no answer: a recorded DENY, not a 500.
            throw new PolicyUnavailableException("policy_engine_unavailable", "OPA request failed: " + e.getMessage(), e);
        }
        // The socket timeout bounds each read; the deadline bounds the whole exchange.
        long elapsed = System.nanoTime() - start;
        if (elapsed > properties.timeout().toNanos()) {
            throw timeout("OPA's answer came after " + elapsed / 1_000_000 + " ms, over the deadline of "
                    + properties.timeout(), null);
        }
        if (response.status() != 200) {
            throw new PolicyUnavailableException("policy_engine_error", "OPA answered HTTP " + response.status(), null);
        }
        JsonNode document;
        try {
            document = json.readTree(response.body());
        } catch (RuntimeException e) {
            throw new PolicyUnavailableException("policy_result_invalid", "OPA answered something that is not JSON", e);
        }
        JsonNode result = document == null ? null : document.get("result");
        if (result == null || result.isNull()) {
            throw new PolicyUnavailableException("policy_result_missing",
                    "OPA answered without a result (policy " + properties.decisionPath() + " undefined?)", null);
        }
        return parse(result, revision(document));
    }

    /**
     * Sends once more when a pooled keep-alive connection turns out to be closed (OPA restarted): the
     * evaluation is a pure read. The other idle connections are from before the restart too, so they are
     * dropped first. Timeouts and refused connections are not retried: the deadline is the deadline.
     */
    private Answer send(byte[] body) throws IOException {
        try {
            return post(body);
        } catch (IOException e) {
            if (!PooledHttpClients.droppedStaleConnections(pool, e)) {
                throw e;
            }
            return post(body);
        }
    }

    private Answer post(byte[] body) throws IOException {
        HttpPost request = new HttpPost(decisionUri);
        request.setEntity(new ByteArrayEntity(body, ContentType.APPLICATION_JSON));
        return http.execute(request, response -> new Answer(response.getCode(),
                response.getEntity() == null ? new byte[0] : EntityUtils.toByteArray(response.getEntity(), MAX_ANSWER_BYTES)));
    }

    /**
     * One reason code for the three ways the deadline runs out; the message tells an operator which (a busy pool
     * asks for more connections or OPA cores, a slow answer for a faster policy or less load).
     */
    private static PolicyUnavailableException timeout(String message, Exception cause) {
        return new PolicyUnavailableException("policy_engine_timeout", message, cause);
    }

    Result parse(JsonNode result, String revision) throws PolicyUnavailableException {
        String wire = text(result, "outcome");
        if (wire == null || !OUTCOMES.contains(wire)) {
            throw invalid("outcome is missing or not one of " + OUTCOMES);
        }
        Outcome outcome = Outcome.valueOf(wire);
        List<String> reasons = strings(result, "reasons");
        List<String> obligations = strings(result, "obligations");
        CredentialGrant credential = null;
        if (outcome.grants()) {
            credential = credential(result.get("credential"));
        }
        int requiredApprovals = 1;
        JsonNode approval = result.get("approval");
        if (outcome == Outcome.STEP_UP && approval != null && approval.isObject() && approval.has("required_approvals")) {
            JsonNode n = approval.get("required_approvals");
            if (!n.isIntegralNumber() || n.asInt() < 1 || n.asInt() > 10) {
                throw invalid("approval.required_approvals must be an integer from 1 to 10");
            }
            requiredApprovals = n.asInt();
        }
        JsonNode quarantine = result.get("quarantine");
        boolean quarantineRequested = quarantine != null && quarantine.isObject()
                && quarantine.path("requested").isBoolean() && quarantine.path("requested").asBoolean();
        String quarantineReason = quarantineRequested ? text(quarantine, "reason") : null;
        return new Result(outcome, reasons, obligations, credential, requiredApprovals,
                quarantineRequested, quarantineReason, revision);
    }

    private CredentialGrant credential(JsonNode node) throws PolicyUnavailableException {
        if (node == null || !node.isObject()) {
            throw invalid("an ALLOW/CONSTRAIN result must carry a credential object");
        }
        List<String> policies = strings(node, "policies");
        if (policies.isEmpty()) {
            throw invalid("credential.policies must not be empty");
        }
        JsonNode ttl = node.get("ttl_seconds");
        if (ttl == null || !ttl.isIntegralNumber() || ttl.asLong() < 1 || ttl.asLong() > properties.maxTtl().toSeconds()) {
            throw invalid("credential.ttl_seconds must be an integer from 1 to " + properties.maxTtl().toSeconds());
        }
        // Vault reads num_uses 0 as unlimited: the policy must name a bound.
        JsonNode uses = node.get("num_uses");
        if (uses == null || !uses.isIntegralNumber() || uses.asInt() < 1 || uses.asInt() > properties.maxUses()) {
            throw invalid("credential.num_uses must be an integer from 1 to " + properties.maxUses());
        }
        // Absent means mint; anything but a boolean is a broken policy, not a silent "no".
        JsonNode reuse = node.get("reuse");
        if (reuse != null && !reuse.isNull() && !reuse.isBoolean()) {
            throw invalid("credential.reuse must be a boolean");
        }
        return new CredentialGrant(policies, Duration.ofSeconds(ttl.asLong()), uses.asInt(),
                reuse != null && reuse.asBoolean(false));
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value != null && value.isString() ? value.asString() : null;
    }

    private static List<String> strings(JsonNode node, String field) throws PolicyUnavailableException {
        JsonNode array = node.get(field);
        if (array == null || array.isNull()) {
            return List.of();
        }
        if (!array.isArray()) {
            throw invalid(field + " must be an array of strings");
        }
        List<String> values = new ArrayList<>(array.size());
        for (JsonNode item : array) {
            if (!item.isString()) {
                throw invalid(field + " must be an array of strings");
            }
            values.add(item.asString());
        }
        return List.copyOf(values);
    }

    /** The bundle revision OPA reports in its provenance; "unknown" when OPA runs without a bundle. */
    private static String revision(JsonNode document) {
        JsonNode bundles = document.path("provenance").path("bundles");
        if (bundles.isObject()) {
            for (JsonNode bundle : bundles) {
                JsonNode revision = bundle.get("revision");
                if (revision != null && revision.isString() && !revision.asString().isEmpty()) {
                    return revision.asString();
                }
            }
        }
        return "unknown";
    }

    private static PolicyUnavailableException invalid(String message) {
        return new PolicyUnavailableException("policy_result_invalid", "OPA result violates the contract: " + message, null);
    }

    @Override
    public Health health() {
        HttpGet request = new HttpGet(properties.url().resolve("/health"));
        request.setConfig(RequestConfig.custom().setResponseTimeout(Timeout.ofSeconds(2))
                .setConnectionRequestTimeout(Timeout.ofSeconds(2)).build());
        try {
            int status = http.execute(request, response -> {
                EntityUtils.consume(response.getEntity());
                return response.getCode();
            });
            return status == 200 ? Health.up().build() : Health.down().withDetail("status", status).build();
        } catch (IOException | RuntimeException e) {
            // DOWN, never an exception: a throwing indicator turns the readiness answer into an error instead of a 503.
            return Health.down().withDetail("error", e.getClass().getSimpleName()).build();
        }
    }

    @Override
    public void destroy() throws IOException {
        http.close();
    }
}

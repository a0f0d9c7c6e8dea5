package io.agentpdp.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Locale;

import com.atlassian.oai.validator.OpenApiInteractionValidator;
import com.atlassian.oai.validator.model.Request;
import com.atlassian.oai.validator.model.SimpleResponse;
import com.atlassian.oai.validator.report.ValidationReport;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A plain HTTP client for the running PDP that holds every answer to openapi.yaml: a response whose
 * status, content type or body the contract does not describe fails the test (contract test on real traffic).
 */
public final class Api {

    private static final OpenApiInteractionValidator CONTRACT = OpenApiInteractionValidator
            .createForSpecificationUrl(TestStack.projectRoot().resolve("openapi.yaml").toUri().toString())
            .build();
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String ACCEPT = "application/json, application/problem+json";

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private final String baseUrl;

    public Api(int port) {
        this.baseUrl = "http://127.0.0.1:" + port;
    }

    /** An answer: status, content type and body (parsed when it is JSON). */
    public record Answer(int status, String contentType, String body, JsonNode json, java.net.http.HttpHeaders headers) {
        public String text(String field) {
            JsonNode node = json.get(field);
            return node == null || node.isNull() ? null : node.asString();
        }

        /** The first value of a response header, or null. */
        public String header(String name) {
            return headers.firstValue(name).orElse(null);
        }
    }

    public Answer post(String path, String token, Object body) {
        return postAccepting(path, token, ACCEPT, body);
    }

    /** A JSON POST that accepts only {@code accept}. */
    public Answer postAccepting(String path, String token, String accept, Object body) {
        String text = body instanceof String s ? s : JSON.writeValueAsString(body);
        return send(path, Request.Method.POST, token, accept, "application/json", HttpRequest.BodyPublishers.ofString(text));
    }

    public Answer postRaw(String path, String token, String contentType, HttpRequest.BodyPublisher body) {
        return send(path, Request.Method.POST, token, ACCEPT, contentType, body);
    }

    public Answer get(String path, String token) {
        return send(path, Request.Method.GET, token, ACCEPT, null, null);
    }

    /** An answer with its response headers (ETag, Location, ...). */
    public record Exchange(Answer answer, java.net.http.HttpHeaders headers) {
        public String header(String name) {
            return headers.firstValue(name).orElse(null);
        }
    }

    /**
     * Any request with extra headers (If-Match, ...) and an optional JSON (or, given a String and a
     * Content-Type header, raw) body; the answer is held to the contract like every other.
     */
    public Exchange exchange(String method, String path, String token, java.util.Map<String, String> headers, Object body) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl + path)).header("Accept", ACCEPT);
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        headers.forEach(request::header);
        if (body != null && !headers.containsKey("Content-Type")) {
            request.header("Content-Type", "application/json");
        }
        String text = body == null ? null : body instanceof String s ? s : JSON.writeValueAsString(body);
        request.method(method, text == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(text));
        try {
            HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
            String type = response.headers().firstValue("Content-Type").orElse("");
            JsonNode json = type.toLowerCase(Locale.ROOT).contains("json") && !response.body().isEmpty()
                    ? JSON.readTree(response.body()) : null;
            Answer answer = new Answer(response.statusCode(), type, response.body(), json, response.headers());
            assertHonoursContract(path, Request.Method.valueOf(method), answer);
            return new Exchange(answer, response.headers());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private Answer send(String path, Request.Method method, String token, String accept, String contentType,
                        HttpRequest.BodyPublisher body) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl + path))
                .header("Accept", accept);
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        if (contentType != null) {
            request.header("Content-Type", contentType);
        }
        request.method(method.name(), body == null ? HttpRequest.BodyPublishers.noBody() : body);
        try {
            HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
            String type = response.headers().firstValue("Content-Type").orElse("");
            JsonNode json = type.toLowerCase(Locale.ROOT).contains("json") && !response.body().isEmpty()
                    ? JSON.readTree(response.body()) : null;
            Answer answer = new Answer(response.statusCode(), type, response.body(), json, response.headers());
            assertHonoursContract(path, method, answer);
            return answer;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static void assertHonoursContract(String path, Request.Method method, Answer answer) {
        String pathOnly = path.contains("?") ? path.substring(0, path.indexOf('?')) : path;
        SimpleResponse.Builder response = SimpleResponse.Builder
                .status(answer.status())
                .withContentType(answer.contentType().isEmpty() ? null : answer.contentType())
                .withBody(answer.body());
        // Headers the contract describes are checked too (e.g. Retry-After of a 429).
        answer.headers().firstValue("Retry-After").ifPresent(value -> response.withHeader("Retry-After", value));
        ValidationReport report = CONTRACT.validateResponse(pathOnly, method, response.build());
        assertThat(report.getMessages())
                .as("%s %s answered %s, which openapi.yaml does not describe: %s", method, path, answer.status(), answer.body())
                .isEmpty();
    }
}

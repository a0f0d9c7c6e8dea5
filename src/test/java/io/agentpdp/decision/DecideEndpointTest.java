package io.agentpdp.decision;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * {@code POST /v1/decisions} answers every request, odd ones included, exactly as the annotated MVC controller did
 * before {@link DecideServlet} replaced it: the status, the Content-Type and the problem's title and detail of each
 * case below were taken from that controller's answers (content negotiation, charsets, empty and null bodies,
 * validation, methods, paths). Requests go out raw, without the contract check, to keep them odd.
 */
class DecideEndpointTest extends IntegrationTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private static final String VALID = "VALID";

    private String tenant;
    private String token;

    /** One odd request and the answer the MVC controller gave it. */
    record Case(String name, String method, String path, Map<String, String> headers, String body, String charset,
                int status, String contentType, String title, String detail) {
        Case withPath(String other) {
            return new Case(name, method, other, headers, body, charset, status, contentType, title, detail);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    @BeforeEach
    void setUp() {
        tenant = newTenant();
        token = TestJwts.token("gw-1", tenant, "decide");
        registerAgent(tenant, "agent-7", "alice", new String[] {"crm.contacts.read"}, new String[] {"crm"});
    }

    private static Case post(String name, Map<String, String> headers, String body,
                             int status, String contentType, String title, String detail) {
        return new Case(name, "POST", "/v1/decisions", headers, body, "UTF-8", status, contentType, title, detail);
    }

    private static Map<String, String> json(String... more) {
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Content-Type", "application/json");
        for (int i = 0; i < more.length; i += 2) {
            if (more[i + 1] == null) {
                headers.remove(more[i]);
            } else {
                headers.put(more[i], more[i + 1]);
            }
        }
        return headers;
    }

    static Stream<Case> cases() {
        String problem = "application/problem+json";
        String decision = "application/json";
        return Stream.of(
                post("valid", json(), VALID, 200, decision, null, null),
                post("valid, no Accept", json(), VALID, 200, decision, null, null),
                post("json with utf-8 charset", json("Content-Type", "application/json; charset=utf-8"), VALID, 200, decision, null, null),
                post("upper-case media type", json("Content-Type", "APPLICATION/JSON"), VALID, 200, decision, null, null),
                new Case("latin-1 body", "POST", "/v1/decisions", json("Content-Type", "application/json;charset=ISO-8859-1"), VALID,
                        "ISO-8859-1", 200, decision, null, null),
                post("query string ignored", json(), VALID, 200, decision, null, null).withPath("/v1/decisions?x=1"),
                post("no Content-Type", json("Content-Type", null), VALID, 415, problem, "Unsupported media type",
                        "Content-Type null is not supported; send application/json."),
                post("text/plain", json("Content-Type", "text/plain"), VALID, 415, problem, "Unsupported media type",
                        "Content-Type text/plain is not supported; send application/json."),
                post("problem+json body", json("Content-Type", "application/problem+json"), VALID, 415, problem,
                        "Unsupported media type", "Content-Type application/problem+json is not supported; send application/json."),
                post("application/*", json("Content-Type", "application/*"), VALID, 415, problem, "Unsupported media type",
                        "Content-Type application/* is not supported; send application/json."),
                post("unknown charset", json("Content-Type", "application/json; charset=no-such-charset"), VALID, 415, problem,
                        "Unsupported media type", "Content-Type null is not supported; send application/json."),
                new Case("utf-16 body", "POST", "/v1/decisions", json("Content-Type", "application/json; charset=UTF-16"), VALID,
                        "UTF-16", 200, decision, null, null),
                post("malformed Content-Type", json("Content-Type", "application/"), VALID, 415, problem, "Unsupported media type",
                        "Content-Type null is not supported; send application/json."),
                post("Accept text/html", json("Accept", "text/html"), VALID, 406, problem, "Not acceptable",
                        "This API answers application/json and application/problem+json."),
                post("Accept problem+json only", json("Accept", "application/problem+json"), VALID, 406, problem, "Not acceptable",
                        "This API answers application/json and application/problem+json."),
                post("Accept application/*", json("Accept", "application/*"), VALID, 200, decision, null, null),
                post("Accept */* with q", json("Accept", "text/html, */*;q=0.1"), VALID, 200, decision, null, null),
                post("Accept *+json", json("Accept", "application/*+json"), VALID, 200, decision, null, null),
                post("Accept malformed", json("Accept", "text/"), VALID, 406, problem, "Not acceptable",
                        "This API answers application/json and application/problem+json."),
                post("415 before 406", json("Content-Type", "text/plain", "Accept", "text/html"), VALID, 415, problem,
                        "Unsupported media type", "Content-Type text/plain is not supported; send application/json."),
                post("empty body", json(), "", 400, problem, "Malformed request body", "The request body is missing or unreadable."),
                post("null body", json(), "null", 400, problem, "Malformed request body", "The request body is missing or unreadable."),
                post("blank body", json(), "   ", 400, problem, "Malformed request body", "The body must be a JSON object."),
                post("array body", json(), "[]", 400, problem, "Malformed request body", "The body must be a JSON object."),
                post("trailing tokens", json(), "{} {}", 400, problem, "Malformed request body", "The body must be a JSON object."),
                post("not JSON", json(), "{\"tenant\": ", 400, problem, "Malformed request body", "The body is not valid JSON"),
                post("invalid UTF-8", json(), "\u00ff\u00fe{", 400, problem, "Malformed request body", "The body is not valid JSON"),
                post("empty object", json(), "{}", 400, problem, "Invalid request", "7 field(s) failed validation"),
                post("bad tool name", json(), "TOOL", 400, problem, "Invalid request", "1 field(s) failed validation: [tool must be"),
                new Case("GET", "GET", "/v1/decisions", json(), null, "UTF-8", 403, problem, "Forbidden",
                        "The token does not grant access to this endpoint."),
                new Case("PUT", "PUT", "/v1/decisions", json(), VALID, "UTF-8", 403, problem, "Forbidden",
                        "The token does not grant access to this endpoint."),
                new Case("trailing slash", "POST", "/v1/decisions/", json(), VALID, "UTF-8", 403, problem, "Forbidden",
                        "The token does not grant access to this endpoint."));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void answersAsTheAnnotatedControllerDid(Case c) throws Exception {
        HttpResponse<String> response = send(c);
        String type = response.headers().firstValue("Content-Type").orElse("");
        String shown = c.name + ": " + response.statusCode() + " " + type + " " + response.body();
        if (Boolean.getBoolean("decide.record")) {
            System.out.println("DECIDE-CASE " + shown);
            return;
        }
        assertThat(response.statusCode()).as(shown).isEqualTo(c.status);
        assertThat(type).as(shown).isEqualTo(c.contentType);
        JsonNode answer = JSON.readTree(response.body());
        if (c.status == 200) {
            assertThat(answer.path("outcome").asString()).as(shown).isEqualTo("ALLOW");
            assertThat(new TreeSet<>(answer.propertyNames())).as(shown).containsAll(List.of("decision_id", "outcome", "reasons"));
        } else {
            assertThat(answer.path("title").asString()).as(shown).isEqualTo(c.title);
            assertThat(answer.path("detail").asString()).as(shown).startsWith(c.detail);
            assertThat(answer.path("decision").asString()).as(shown).isEqualTo("DENY");
            assertThat(answer.path("status").asInt()).as(shown).isEqualTo(c.status);
            assertThat(answer.path("instance").asString()).as(shown).isEqualTo(c.path.replaceFirst("\\?.*", ""));
            // A refused decision request is recorded and named in the answer; other methods and paths are not decided.
            assertThat(answer.has("decision_id")).as(shown).isEqualTo(c.method.equals("POST") && c.path.equals("/v1/decisions"));
        }
    }

    private HttpResponse<String> send(Case c) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + c.path))
                .header("Authorization", "Bearer " + token);
        Map<String, String> headers = new LinkedHashMap<>(c.headers);
        if (!c.name.contains("no Accept")) {
            headers.putIfAbsent("Accept", "application/json, application/problem+json");
        }
        headers.forEach(request::header);
        String body = switch (String.valueOf(c.body)) {
            case VALID -> validBody("intent with é");
            case "TOOL" -> {
                ObjectNode tree = (ObjectNode) JSON.readTree(validBody("x"));
                tree.put("tool", "crm contacts");
                yield JSON.writeValueAsString(tree);
            }
            default -> c.body;
        };
        byte[] bytes = body == null ? null : c.name.equals("invalid UTF-8") ? new byte[] {(byte) 0xff, (byte) 0xfe, '{'}
                : body.getBytes(c.charset);
        request.method(c.method, bytes == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(bytes));
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    private String validBody(String intent) {
        Map<String, Object> body = new LinkedHashMap<>(lowRiskRead(tenant));
        @SuppressWarnings("unchecked")
        Map<String, Object> task = new LinkedHashMap<>((Map<String, Object>) body.get("task"));
        task.put("intent", intent);
        body.put("task", task);
        return JSON.writeValueAsString(body);
    }
}

package io.agentpdp.web;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.boot.test.web.server.LocalManagementPort;

import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.RawHttp;
import io.agentpdp.support.TestJwts;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * URLs that Tomcat refuses before any servlet sees them (invalid %-escapes, NUL, characters HTTP does
 * not allow in a request target, encoded slashes) answer like every other bad input: 400
 * {@code application/problem+json}, never Tomcat's HTML error page, on the API and the management port.
 * Sent byte for byte on a socket, since an HTTP client would refuse to send them.
 */
class MalformedUrlTest extends IntegrationTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    @LocalManagementPort
    private int managementPort;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"/v1/decisions/%zz", "/%00", "/v1/decisions/%00", "/a|b", "/{id}", "/v1/decisions/{id}",
            "/..%2F..%2Fetc", "/v1/decisions/abc%2Fdef", "/v1/approvals/x%2F..%2Fy/approve", "/v1/decisions/%",
            "/v1/decisions/a%5Cb", "/v1/decisions/<script>", "/v1/decisions/a\"b"})
    void aUrlTomcatRejectsIsA400ProblemDocumentOnTheApiPort(String target) {
        RawHttp.Answer answer = RawHttp.get(port, target, "Authorization: Bearer " + TestJwts.token("gw-1", "acme", "decide"));
        assertIsA400Problem(answer, target);
        if (target.startsWith("/v1/decisions")) {
            assertThat(json(answer).path("decision").asString()).as("an error on the decision path is a DENY").isEqualTo("DENY");
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"/actuator/%zz", "/%00", "/a|b", "/{id}", "/..%2F..%2Fetc", "/actuator/health%2Freadiness"})
    void aUrlTomcatRejectsIsA400ProblemDocumentOnTheManagementPort(String target) {
        assertIsA400Problem(RawHttp.get(managementPort, target), target);
    }

    /** The error page answers only errors forwarded to it; requested directly it is not a resource. */
    @org.junit.jupiter.api.Test
    void theErrorPageIsAProblemDocumentToo() {
        RawHttp.Answer answer = RawHttp.get(port, "/error");
        assertThat(answer.status()).isEqualTo(404);
        assertThat(answer.contentType()).startsWith("application/problem+json");
        assertThat(json(answer).path("instance").asString()).isEqualTo("/error");
    }

    private static void assertIsA400Problem(RawHttp.Answer answer, String target) {
        assertThat(answer.status()).as("%s answered %s", target, answer.body()).isEqualTo(400);
        assertThat(answer.contentType()).as(target).startsWith("application/problem+json");
        assertThat(answer.body()).as(target).doesNotContain("<html", "<!doctype", "Apache Tomcat", "Exception", "\tat ");
        JsonNode problem = json(answer);
        assertThat(problem.path("status").asInt()).isEqualTo(400);
        assertThat(problem.path("title").asString()).isEqualTo("Bad request");
        assertThat(problem.path("detail").asString()).isNotBlank();
    }

    private static JsonNode json(RawHttp.Answer answer) {
        return JSON.readTree(answer.body());
    }
}

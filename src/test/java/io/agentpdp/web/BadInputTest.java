package io.agentpdp.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.Flow;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.agentpdp.support.Api;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;

/** Bad input gets a clear 400/413/415 problem+json that says DENY, and the service stays up. */
class BadInputTest extends IntegrationTest {

    private String tenant;
    private String token;

    @BeforeEach
    void setUp() {
        tenant = newTenant();
        token = TestJwts.token("gw-1", tenant, "decide");
        registerAgent(tenant, "agent-7", "alice", new String[] {"crm.contacts.read"}, new String[] {"crm"});
    }

    private Map<String, Object> valid() {
        return lowRiskRead(tenant);
    }

    private void assertProblem(Api.Answer answer, int status, String detailFragment) {
        assertThat(answer.status()).as(answer.body()).isEqualTo(status);
        assertThat(answer.contentType()).startsWith("application/problem+json");
        assertThat(answer.text("decision")).isEqualTo("DENY");
        assertThat(answer.text("detail")).containsIgnoringCase(detailFragment);
        // ...and the service still decides.
        assertThat(api().post("/v1/decisions", token, valid()).text("outcome")).isEqualTo("ALLOW");
    }

    @Test
    void malformedJson() {
        assertProblem(api().post("/v1/decisions", token, "{\"tenant\": "), 400, "not valid JSON");
    }

    @Test
    void notAnObject() {
        assertProblem(api().post("/v1/decisions", token, "[1,2,3]"), 400, "JSON object");
    }

    @Test
    void wrongContentType() {
        assertProblem(api().postRaw("/v1/decisions", token, "text/plain",
                HttpRequest.BodyPublishers.ofString("hello")), 415, "application/json");
    }

    @Test
    void unknownField() {
        Map<String, Object> body = valid();
        body.put("is_admin", true);
        assertProblem(api().post("/v1/decisions", token, body), 400, "Unknown field 'is_admin'");
    }

    @Test
    void unknownNestedField() {
        Map<String, Object> body = valid();
        body.put("agent", Map.of("id", "agent-7", "role", "root"));
        assertProblem(api().post("/v1/decisions", token, body), 400, "Unknown field 'role'");
    }

    @Test
    void duplicateKeys() {
        String json = "{\"tenant\":\"" + tenant + "\",\"tenant\":\"other\"}";
        assertProblem(api().post("/v1/decisions", token, json), 400, "Duplicate");
    }

    @Test
    void oversizedBodyWithContentLength() {
        Map<String, Object> body = valid();
        body.put("context", Map.of("blob", "x".repeat(70_000)));
        assertProblem(api().post("/v1/decisions", token, body), 413, "exceeds the limit");
    }

    @Test
    void oversizedChunkedBody() {
        // Many small strings: no single value trips a JSON limit, only the body size does.
        String items = String.join(",", java.util.Collections.nCopies(12_000, "\"abcdefgh\""));
        byte[] big = ("{\"tenant\":\"" + tenant + "\",\"context\":{\"items\":[" + items + "]}}").getBytes(StandardCharsets.UTF_8);
        // A publisher without a known length makes the client send chunked, so only the stream cap can stop it.
        HttpRequest.BodyPublisher chunked = HttpRequest.BodyPublishers.fromPublisher(
                new Flow.Publisher<>() {
                    @Override
                    public void subscribe(Flow.Subscriber<? super java.nio.ByteBuffer> subscriber) {
                        HttpRequest.BodyPublishers.ofByteArray(big).subscribe(subscriber);
                    }
                });
        assertProblem(api().postRaw("/v1/decisions", token, "application/json", chunked), 413, "exceeds the limit");
    }

    @Test
    void deepNesting() {
        String nested = "{\"a\":".repeat(40) + "1" + "}".repeat(40);
        String json = api_json(valid()).replace("\"data_classification\"", "\"context\":" + nested + ",\"data_classification\"");
        assertProblem(api().post("/v1/decisions", token, json), 400, "exceeds a limit");
    }

    @Test
    void overlongIntent() {
        Map<String, Object> body = valid();
        body.put("task", Map.of("id", "t", "intent", "x".repeat(2000), "chain_depth", 0));
        assertProblem(api().post("/v1/decisions", token, body), 400, "task.intent");
    }

    @Test
    void missingRequiredFields() {
        assertProblem(api().post("/v1/decisions", token, Map.of("tenant", tenant)), 400, "failed validation");
    }

    @Test
    void unknownActionKind() {
        Map<String, Object> body = valid();
        body.put("action", "launch_missiles");
        assertProblem(api().post("/v1/decisions", token, body), 400, "'action'");
    }

    @Test
    void negativeChainDepth() {
        Map<String, Object> body = valid();
        body.put("task", Map.of("id", "t", "intent", "x", "chain_depth", -1));
        assertProblem(api().post("/v1/decisions", token, body), 400, "task.chain_depth");
    }

    @Test
    void lookAlikeToolNamesAreRejectedBeforePolicy() {
        Map<String, Object> body = valid();
        body.put("tool", "crm.contacts.re\u0430d"); // Cyrillic 'а'
        assertProblem(api().post("/v1/decisions", token, body), 400, "tool");
        body.put("tool", "crm.contacts.read\u200b"); // zero-width space
        assertProblem(api().post("/v1/decisions", token, body), 400, "tool");
    }

    @Test
    void malformedDecisionId() {
        Api.Answer answer = api().get("/v1/decisions/not-a-uuid", token);
        assertThat(answer.status()).isEqualTo(400);
        assertThat(answer.contentType()).startsWith("application/problem+json");
    }

    // Regressions found by the schemathesis run (scripts/fuzz.sh).

    @Test
    void controlCharactersInFreeTextAreRejectedNotStored() {
        Map<String, Object> body = valid();
        body.put("target", Map.of("system", "crm", "resource", "contacts/\u0000evil"));
        assertProblem(api().post("/v1/decisions", token, body), 400, "control characters");
    }

    @Test
    void aNumberIsNotAString() {
        Map<String, Object> body = valid();
        body.put("task", Map.of("id", "t", "intent", 12345, "chain_depth", 0));
        assertProblem(api().post("/v1/decisions", token, body), 400, "task.intent");
        body.put("task", Map.of("id", "t", "intent", "x", "chain_depth", "3"));
        assertProblem(api().post("/v1/decisions", token, body), 400, "task.chain_depth");
    }

    @Test
    void malformedContentTypeIs415() {
        assertProblem(api().postRaw("/v1/decisions", token, "multipart/form-data; boundary=",
                HttpRequest.BodyPublishers.ofString("--x--")), 415, "Content-Type");
    }

    @Test
    void aPathVariableOutsideItsPatternIs400() {
        Api.Answer answer = api().get("/v1/agents/%C2%84/quarantine", TestJwts.token("sec", tenant, "security-admin"));
        assertThat(answer.status()).isEqualTo(400);
        assertThat(answer.contentType()).startsWith("application/problem+json");
    }

    @Test
    void emptyOrMalformedQueryParametersAre400() {
        String approver = TestJwts.token("h", tenant, "approver");
        Api.Answer empty = api().get("/v1/approvals?status=&size=5", approver);
        assertThat(empty.status()).isEqualTo(400);
        assertThat(empty.text("detail")).contains("'status' has no value");
        assertThat(api().get("/v1/approvals?=1401", approver).status()).isEqualTo(400);
        assertThat(api().get("/v1/approvals?status=PENDING&size=5", approver).status()).isEqualTo(200);
    }

    private static String api_json(Object body) {
        return tools.jackson.databind.json.JsonMapper.builder().build().writeValueAsString(body);
    }
}

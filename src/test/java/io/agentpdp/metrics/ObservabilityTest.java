package io.agentpdp.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.server.LocalManagementPort;

import io.agentpdp.support.Api;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;
import io.agentpdp.support.TestSvids;
import io.agentpdp.support.VaultProbe;
import tools.jackson.databind.json.JsonMapper;

/** Metrics, readiness, trace ids and log hygiene, observed from outside as ops would. */
@ExtendWith(OutputCaptureExtension.class)
class ObservabilityTest extends IntegrationTest {

    @LocalManagementPort
    private int managementPort;

    private String management(String path) throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + managementPort + path)).build(),
                HttpResponse.BodyHandlers.ofString());
        return response.statusCode() + " " + response.body();
    }

    @Test
    void decisionsAndDependenciesAreMeasuredAndTraced() throws Exception {
        String tenant = newTenant();
        registerAgent(tenant, "agent-7", "o", new String[] {"crm.contacts.read"}, new String[] {"crm"});
        Api.Answer answer = api().post("/v1/decisions", TestJwts.token("gw-1", tenant, "decide"),
                request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/1", "public"));
        assertThat(answer.text("outcome")).isEqualTo("ALLOW");

        String metrics = management("/actuator/prometheus");
        assertThat(metrics).startsWith("200 ");
        assertThat(metrics).containsPattern("pdp_decisions_total\\{[^}]*outcome=\"ALLOW\"[^}]*tenant=\"" + tenant + "\"");
        assertThat(metrics).contains("pdp_decision_duration_seconds_bucket");
        for (String dependency : new String[] {"opa", "vault", "database", "audit"}) {
            assertThat(metrics).containsPattern("pdp_dependency_duration_seconds_count\\{dependency=\"" + dependency + "\"");
        }
        // The decision's context read, OPA call and record's write were each timed (the series exist from start).
        for (String dependency : new String[] {"opa", "database", "audit"}) {
            assertThat(metrics).containsPattern("pdp_dependency_duration_seconds_count\\{dependency=\"" + dependency
                    + "\",result=\"ok\"} [1-9]");
        }
        assertThat(metrics).contains("pdp_approvals_pending", "pdp_quarantines_active");
        // The decide servlet (outside MVC) names its route for the request metrics as the controller's mapping did.
        assertThat(metrics).containsPattern("http_server_requests_seconds_count\\{[^}]*method=\"POST\"[^}]*uri=\"/v1/decisions\"");
        // No long-task timer of requests in flight (application.yaml: nothing reads it, and it costs per request).
        assertThat(metrics).doesNotContain("http_server_requests_active");

        String traceId = jdbc.sql("select trace_id from decision_record where id = cast(? as uuid)")
                .param(answer.text("decision_id")).query(String.class).single();
        assertThat(traceId).matches("[0-9a-f]{32}");
    }

    @Test
    void aCallersW3cTraceIsContinuedInTheAuditRecord() {
        String tenant = newTenant();
        registerAgent(tenant, "agent-7", "o", new String[] {"crm.contacts.read"}, new String[] {"crm"});
        String traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        Api.Exchange exchange = api().exchange("POST", "/v1/decisions", TestJwts.token("gw-1", tenant, "decide"),
                Map.of("traceparent", "00-" + traceId + "-00f067aa0ba902b7-00"),
                request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/1", "public"));
        assertThat(exchange.answer().text("outcome")).isEqualTo("ALLOW");
        String recorded = jdbc.sql("select trace_id from decision_record where id = cast(? as uuid)")
                .param(exchange.answer().text("decision_id")).query(String.class).single();
        assertThat(recorded).isEqualTo(traceId);
    }

    @Test
    void readinessCoversOpaVaultTheDatabaseAndTheClock() throws Exception {
        String readiness = management("/actuator/health/readiness");
        assertThat(readiness).startsWith("200 ");
        Map<?, ?> components = (Map<?, ?>) JsonMapper.builder().build()
                .readValue(readiness.substring(4), Map.class).get("components");
        assertThat(components.keySet().stream().map(String::valueOf).toList()).contains("opa", "vault", "db", "clock");
        assertThat(management("/actuator/health/liveness")).startsWith("200 ");
    }

    @Test
    void logsAreJsonAndNeverCarryTokensOrSecrets(CapturedOutput output) {
        String tenant = newTenant();
        registerAgent(tenant, "agent-7", "o", new String[] {"crm.contacts.read"}, new String[] {"crm"});
        String jwt = TestJwts.token("gw-1", tenant, "decide");
        // A real JWT-SVID: the decision verifies it, and the tool misuse below (with it) quarantines the agent.
        String workloadSecret = TestSvids.token();
        Map<String, Object> body = request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/1", "public");
        body.put("agent", Map.of("id", "agent-7", "workload_identity_token", workloadSecret));
        String wrap = api().post("/v1/decisions", jwt, body).json().path("credential").path("token").asString();
        String token = new VaultProbe(STACK.vaultUrl()).unwrap(wrap);
        // Failure paths that log: a forged token, bad input, and an automatic quarantine (tool misuse).
        api().post("/v1/decisions", TestJwts.foreignToken("gw-1", tenant, "decide"), body);
        api().post("/v1/decisions", jwt, "{\"tenant\": \"" + workloadSecret);
        body.put("tool", "shell.exec");
        api().post("/v1/decisions", jwt, body);

        String logs = output.getAll();
        assertThat(logs).contains("quarantined");
        assertThat(logs).doesNotContain(wrap, token, jwt, workloadSecret, STACK.vaultPdpToken(), STACK.vaultRootToken());
        assertThat(logs.lines().filter(line -> line.contains("quarantined by pdp")).findFirst().orElseThrow())
                .startsWith("{").contains("\"@timestamp\"", "\"log\":{\"level\"");
    }
}

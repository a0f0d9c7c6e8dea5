package io.agentpdp.approval;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import com.sun.net.httpserver.HttpServer;

import io.agentpdp.support.Api;
import io.agentpdp.support.TestJwts;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Approval notifications through the outbox to a real local HTTP receiver that fails its first call:
 * the decide call never waits for it, the event is retried and delivered, and no token is ever sent.
 */
class ApprovalWebhookTest extends ApprovalTestBase {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final java.util.Set<String> SEEN = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private static final List<Received> RECEIVED = new CopyOnWriteArrayList<>();
    private static final HttpServer RECEIVER = start();

    record Received(int status, String event, String idempotencyKey, String authorization, String body) {
        JsonNode json() {
            return JSON.readTree(body);
        }
    }

    private static HttpServer start() {
        try {
            HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
            server.createContext("/hooks/approvals", exchange -> {
                String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
                boolean first = SEEN.add(exchange.getRequestHeaders().getFirst("Idempotency-Key"));
                boolean broken = body.contains("agent-broken");
                // Every event's first delivery fails; events of agent-broken hang past the timeout first, then fail always.
                if (broken && first) {
                    sleep(Duration.ofMillis(1500));
                }
                int status = broken || first ? 503 : 204;
                RECEIVED.add(new Received(status, exchange.getRequestHeaders().getFirst("X-Agent-Pdp-Event"),
                        exchange.getRequestHeaders().getFirst("Idempotency-Key"),
                        exchange.getRequestHeaders().getFirst("Authorization"), body));
                exchange.sendResponseHeaders(status, -1);
                exchange.close();
            });
            server.start();
            return server;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @DynamicPropertySource
    static void webhook(DynamicPropertyRegistry registry) {
        registry.add("pdp.approval.webhook-url", () -> "http://127.0.0.1:" + RECEIVER.getAddress().getPort() + "/hooks/approvals");
        registry.add("pdp.approval.webhook-timeout", () -> "500ms");
        registry.add("pdp.approval.webhook-backoff", () -> "200ms");
        registry.add("pdp.approval.webhook-poll-interval", () -> "100ms");
        registry.add("pdp.approval.webhook-max-attempts", () -> "3");
    }

    /** The first request of a fresh context pays for warm-up; the timing assertions below should not. */
    @BeforeEach
    void warmUp() {
        String tenant = tenantWithAgent();
        decide(tenant, request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/1", "public"));
    }

    @AfterAll
    static void stop() {
        RECEIVER.stop(0);
    }

    private List<Received> delivered(String approvalId, String event) {
        return RECEIVED.stream()
                .filter(r -> r.status() == 204 && r.body().contains(approvalId) && event.equals(r.event()))
                .toList();
    }

    @Test
    void requestsAndVerdictsAreNotifiedWithRetryAndWithoutTokens() throws Exception {
        String tenant = tenantWithAgent();
        String decideToken = TestJwts.token(GATEWAY, tenant, "decide");
        long start = System.nanoTime();
        Api.Answer stepUp = api().post("/v1/decisions", decideToken, deleteRequest(tenant, "contacts/42"));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
        String id = stepUp.json().path("approval").path("id").asString();

        eventually(Duration.ofSeconds(10), () -> !delivered(id, "approval.requested").isEmpty());
        // The first delivery of the event failed; the same event was delivered again after a backoff.
        List<Received> attempts = RECEIVED.stream().filter(r -> r.body().contains(id) && "approval.requested".equals(r.event())).toList();
        assertThat(attempts).extracting(Received::status).containsExactly(503, 204);
        assertThat(attempts.get(0).idempotencyKey()).isEqualTo(attempts.get(1).idempotencyKey()).startsWith("approval-event-");
        JsonNode payload = attempts.get(1).json();
        assertThat(payload.path("event").asString()).isEqualTo("approval.requested");
        assertThat(payload.path("approval_id").asString()).isEqualTo(id);
        assertThat(payload.path("tenant").asString()).isEqualTo(tenant);
        assertThat(payload.path("tool").asString()).isEqualTo("crm.contacts.delete");
        assertThat(payload.path("status").asString()).isEqualTo("PENDING");
        assertThat(payload.path("actor").asString()).isEqualTo(GATEWAY);
        Map<String, Object> row = jdbc.sql("select o.attempts, o.delivered_at, o.last_error from approval_webhook_outbox o"
                        + " join approval_event e on e.id = o.event_id where e.approval_id = cast(? as uuid) and e.event = 'REQUESTED'")
                .param(id).query().singleRow();
        assertThat(row.get("attempts")).isEqualTo(2);
        assertThat(row.get("delivered_at")).isNotNull();
        assertThat(row.get("last_error")).isNull();

        assertThat(approve(tenant, id, "bob").status()).isEqualTo(200);
        eventually(Duration.ofSeconds(10), () -> !delivered(id, "approval.approved").isEmpty());
        eventually(Duration.ofSeconds(10), () -> !delivered(id, "approval.voted").isEmpty());
        Api.Answer allowed = decide(tenant, with(deleteRequest(tenant, "contacts/42"), "approval_id", id));
        assertThat(allowed.text("outcome")).isEqualTo("ALLOW");
        eventually(Duration.ofSeconds(10), () -> !delivered(id, "approval.consumed").isEmpty());

        String credential = allowed.json().path("credential").path("token").asString();
        for (Received r : RECEIVED) {
            assertThat(r.authorization()).isNull();
            assertThat(r.body()).doesNotContain(decideToken).doesNotContain(credential).doesNotContain("token");
        }
        // The receiver sees a delivery a moment before the sender marks its outbox row delivered.
        eventually(Duration.ofSeconds(10), () -> jdbc.sql("select count(*) from approval_webhook_outbox o join approval_event e"
                + " on e.id = o.event_id where e.approval_id = cast(? as uuid) and o.delivered_at is null")
                .param(id).query(Long.class).single() == 0);
    }

    @Test
    void aReceiverThatHangsOrKeepsFailingNeverBlocksNorLosesTheApproval() throws Exception {
        String tenant = tenantWithAgent();
        registerAgent(tenant, "agent-broken", OWNER, new String[] {"crm.contacts.delete"}, new String[] {"crm"});
        Map<String, Object> body = deleteRequest(tenant, "contacts/9");
        body.put("agent", Map.of("id", "agent-broken"));

        long start = System.nanoTime();
        String id = stepUp(tenant, body);
        assertThat(approve(tenant, id, "bob").text("status")).isEqualTo("APPROVED");
        assertThat(decide(tenant, with(body, "approval_id", id)).text("outcome")).isEqualTo("ALLOW");
        // Four events whose first deliveries each hang for 1.5 s: none of it is felt by the API.
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));

        // After max-attempts (3) failed deliveries each event is marked failed and kept.
        String outbox = " from approval_webhook_outbox o join approval_event e on e.id = o.event_id where e.approval_id = cast(? as uuid)";
        eventually(Duration.ofSeconds(20), () -> jdbc.sql("select count(*)" + outbox + " and o.failed_at is not null")
                .param(id).query(Long.class).single() == 4);
        List<Map<String, Object>> rows = jdbc.sql("select o.attempts, o.delivered_at, o.last_error" + outbox).param(id).query().listOfRows();
        assertThat(rows).hasSize(4).allSatisfy(row -> {
            assertThat(row.get("attempts")).isEqualTo(3);
            assertThat(row.get("delivered_at")).isNull();
            assertThat(row.get("last_error")).isEqualTo("HTTP 503");
        });
        assertThat(events(id)).containsExactly("REQUESTED:" + GATEWAY, "VOTED:bob", "APPROVED:bob", "CONSUMED:" + GATEWAY);
    }
}

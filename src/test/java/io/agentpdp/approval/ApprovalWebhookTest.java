package io.agentpdp.approval;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

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
 * Approval notifications through the outbox to two real local HTTP receivers, each with its own secret:
 * receiver {@code a} fails every event's first delivery (and hangs, then always fails, for agent-broken),
 * receiver {@code b} answers slowly. Deliveries are CloudEvents 1.0 in structured JSON, signed
 * (HMAC-SHA256 over timestamp and body), in order per approval and receiver, concurrent across receivers,
 * retried, with a reminder before expiry; the decide call never waits for them and no token is ever sent.
 */
class ApprovalWebhookTest extends ApprovalTestBase {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String SECRET_A = "secret-of-receiver-a-0123456789abcdef";
    private static final String SECRET_B = "secret-of-receiver-b-fedcba9876543210";
    private static final java.util.Set<String> SEEN = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private static final List<Received> RECEIVED = new CopyOnWriteArrayList<>();
    private static final HttpServer RECEIVER = start();

    record Received(String receiver, int status, String contentType, String timestamp, String signature,
                    String idempotencyKey, String authorization, String body, Instant at) {
        JsonNode json() {
            return JSON.readTree(body);
        }

        String type() {
            return json().path("type").asString();
        }

        String approvalId() {
            return json().path("subject").asString();
        }
    }

    private static HttpServer start() {
        try {
            HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
            server.createContext("/hooks/a", exchange -> {
                String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
                boolean first = SEEN.add(exchange.getRequestHeaders().getFirst("Idempotency-Key"));
                boolean broken = body.contains("agent-broken");
                // Every event's first delivery fails; events of agent-broken hang past the timeout first, then fail always.
                if (broken && first) {
                    sleep(Duration.ofMillis(1500));
                }
                int status = broken || first ? 503 : 204;
                RECEIVED.add(received("a", status, exchange, body));
                exchange.sendResponseHeaders(status, -1);
                exchange.close();
            });
            server.createContext("/hooks/b", exchange -> {
                String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
                sleep(Duration.ofMillis(100));
                RECEIVED.add(received("b", 204, exchange, body));
                exchange.sendResponseHeaders(204, -1);
                exchange.close();
            });
            server.start();
            return server;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Received received(String receiver, int status, com.sun.net.httpserver.HttpExchange exchange, String body) {
        var headers = exchange.getRequestHeaders();
        return new Received(receiver, status, headers.getFirst("Content-Type"), headers.getFirst("X-PDP-Timestamp"),
                headers.getFirst("X-PDP-Signature"), headers.getFirst("Idempotency-Key"), headers.getFirst("Authorization"),
                body, Instant.now());
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
        String base = "http://127.0.0.1:" + RECEIVER.getAddress().getPort();
        registry.add("pdp.approval.webhooks[0].name", () -> "a");
        registry.add("pdp.approval.webhooks[0].url", () -> base + "/hooks/a");
        registry.add("pdp.approval.webhooks[0].secret", () -> SECRET_A);
        registry.add("pdp.approval.webhooks[1].name", () -> "b");
        registry.add("pdp.approval.webhooks[1].url", () -> base + "/hooks/b");
        registry.add("pdp.approval.webhooks[1].secret", () -> SECRET_B);
        registry.add("pdp.approval.webhook-timeout", () -> "1s");
        registry.add("pdp.approval.webhook-backoff", () -> "200ms");
        registry.add("pdp.approval.webhook-poll-interval", () -> "100ms");
        registry.add("pdp.approval.webhook-max-attempts", () -> "3");
        // A request of this test is reminded a second after it was opened (other tests' requests, with the default
        // TTL, are never due here).
        registry.add("pdp.approval.pending-ttl", () -> "10s");
        registry.add("pdp.approval.reminder-before", () -> "9s");
        registry.add("pdp.approval.sweep-interval", () -> "300ms");
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

    private static List<Received> delivered(String receiver, String approvalId) {
        return RECEIVED.stream().filter(r -> r.receiver().equals(receiver) && r.status() == 204
                && r.body().contains(approvalId)).toList();
    }

    private static boolean delivered(String receiver, String approvalId, String type) {
        return delivered(receiver, approvalId).stream().anyMatch(r -> r.type().equals("io.agentpdp.approval." + type));
    }

    private static String hmac(String secret, String text) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        return HexFormat.of().formatHex(mac.doFinal(text.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void eventsAreSignedCloudEventsDeliveredInOrderToEveryReceiverWithRetryAndWithoutTokens() throws Exception {
        String tenant = tenantWithAgent();
        String decideToken = TestJwts.token(GATEWAY, tenant, "decide");
        long start = System.nanoTime();
        Api.Answer stepUp = api().post("/v1/decisions", decideToken,
                with(deleteRequest(tenant, "contacts/42"), "arguments", Map.of("hard", true)));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
        String id = stepUp.json().path("approval").path("id").asString();

        eventually(Duration.ofSeconds(10), () -> delivered("a", id, "requested") && delivered("b", id, "requested"));
        // Receiver a: the first delivery failed; the same event was delivered again after a backoff.
        List<Received> attempts = RECEIVED.stream().filter(r -> r.receiver().equals("a") && r.body().contains(id)
                && r.type().equals("io.agentpdp.approval.requested")).toList();
        assertThat(attempts).extracting(Received::status).containsExactly(503, 204);
        assertThat(attempts.get(0).idempotencyKey()).isEqualTo(attempts.get(1).idempotencyKey()).startsWith("approval-event-");

        Received requested = attempts.get(1);
        JsonNode event = requested.json();
        assertThat(requested.contentType()).startsWith("application/cloudevents+json");
        assertThat(event.path("specversion").asString()).isEqualTo("1.0");
        assertThat(event.path("id").asString()).isEqualTo(requested.idempotencyKey());
        assertThat(event.path("source").asString()).isNotBlank();
        assertThat(event.path("type").asString()).isEqualTo("io.agentpdp.approval.requested");
        assertThat(event.path("subject").asString()).isEqualTo(id);
        assertThat(Instant.parse(event.path("time").asString())).isNotNull();
        assertThat(event.path("datacontenttype").asString()).isEqualTo("application/json");
        JsonNode data = event.path("data");
        assertThat(data.path("approval_id").asString()).isEqualTo(id);
        assertThat(data.path("tenant").asString()).isEqualTo(tenant);
        assertThat(data.path("agent_id").asString()).isEqualTo("agent-7");
        assertThat(data.path("agent_owner").asString()).isEqualTo(pid(OWNER));
        assertThat(data.path("task_intent").asString()).isNotBlank();
        assertThat(data.path("tool").asString()).isEqualTo("crm.contacts.delete");
        assertThat(data.path("target").path("resource").asString()).isEqualTo("contacts/42");
        assertThat(data.path("arguments").path("hard").asBoolean()).isTrue();
        assertThat(data.path("policy_reasons").size()).isPositive();
        assertThat(data.path("requested_by").asString()).isEqualTo(pid(GATEWAY));
        assertThat(data.path("required_approvals").asInt()).isEqualTo(1);
        assertThat(data.path("approvals_so_far").asInt()).isZero();
        assertThat(data.path("expires_at").asString()).isNotBlank();
        assertThat(data.path("status").asString()).isEqualTo("PENDING");

        assertThat(approve(tenant, id, "bob").status()).isEqualTo(200);
        Api.Answer allowed = decide(tenant, with(with(deleteRequest(tenant, "contacts/42"), "arguments", Map.of("hard", true)),
                "approval_id", id));
        assertThat(allowed.text("outcome")).isEqualTo("ALLOW");
        eventually(Duration.ofSeconds(15), () -> delivered("a", id, "consumed") && delivered("b", id, "consumed"));

        // Every delivery to every receiver is signed with that receiver's secret over timestamp "." body, recently.
        for (Received r : RECEIVED) {
            String secret = r.receiver().equals("a") ? SECRET_A : SECRET_B;
            assertThat(r.signature()).isEqualTo("v1=" + hmac(secret, r.timestamp() + "." + r.body()));
            assertThat(r.signature()).isNotEqualTo("v1=" + hmac(secret.equals(SECRET_A) ? SECRET_B : SECRET_A,
                    r.timestamp() + "." + r.body()));
            assertThat(Math.abs(Instant.now().getEpochSecond() - Long.parseLong(r.timestamp()))).isLessThan(300);
        }
        // In order per approval, at each receiver: exactly the approval's events, as recorded.
        List<String> recorded = jdbc.sql("select 'io.agentpdp.approval.' || lower(event) from approval_event"
                + " where approval_id = cast(? as uuid) order by id").param(id).query(String.class).list();
        assertThat(recorded).containsSubsequence("io.agentpdp.approval.requested", "io.agentpdp.approval.voted",
                "io.agentpdp.approval.approved", "io.agentpdp.approval.consumed");
        for (String receiver : List.of("a", "b")) {
            assertThat(delivered(receiver, id)).extracting(Received::type).as(receiver).containsExactlyElementsOf(recorded);
        }

        String credential = allowed.json().path("credential").path("token").asString();
        for (Received r : RECEIVED) {
            assertThat(r.authorization()).isNull();
            assertThat(r.body()).doesNotContain(decideToken).doesNotContain(credential).doesNotContain("token");
        }
        // The receiver sees a delivery a moment before the sender marks its outbox row delivered.
        eventually(Duration.ofSeconds(10), () -> jdbc.sql("select count(*) from approval_webhook_outbox"
                + " where approval_id = cast(? as uuid) and delivered_at is null").param(id).query(Long.class).single() == 0);
    }

    @Test
    void approversAreRemindedOnceBeforeTheRequestExpires() throws Exception {
        String tenant = tenantWithAgent();
        String id = stepUp(tenant, deleteRequest(tenant, "contacts/77"));
        eventually(Duration.ofSeconds(10), () -> delivered("b", id, "reminder"));
        Received reminder = delivered("b", id).stream().filter(r -> r.type().equals("io.agentpdp.approval.reminder"))
                .findFirst().orElseThrow();
        assertThat(reminder.json().path("data").path("status").asString()).isEqualTo("PENDING");
        assertThat(reminder.json().path("data").path("expires_at").asString()).isEqualTo(get(tenant, id).text("expires_at"));
        // Later sweeps do not remind again.
        Thread.sleep(1000);
        assertThat(events(id).stream().filter(e -> e.startsWith("REMINDER:")).count()).isEqualTo(1);
    }

    @Test
    void aReceiverThatHangsOrKeepsFailingNeverBlocksTheOthersNorLosesTheApproval() throws Exception {
        String tenant = tenantWithAgent();
        registerAgent(tenant, "agent-broken", OWNER, new String[] {"crm.contacts.delete"}, new String[] {"crm"});
        Map<String, Object> body = deleteRequest(tenant, "contacts/9");
        body.put("agent", agent("agent-broken"));

        long start = System.nanoTime();
        String id = stepUp(tenant, body);
        assertThat(approve(tenant, id, "bob").text("status")).isEqualTo("APPROVED");
        assertThat(decide(tenant, with(body, "approval_id", id)).text("outcome")).isEqualTo("ALLOW");
        // Events whose first deliveries each hang: none of it is felt by the API.
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));

        // Receiver b gets every event while receiver a is still failing the first one.
        eventually(Duration.ofSeconds(15), () -> delivered("b", id, "consumed"));
        long eventsOfA = jdbc.sql("select count(*) from approval_webhook_outbox where approval_id = cast(? as uuid)"
                + " and receiver = 'a' and (failed_at is not null or delivered_at is not null)").param(id).query(Long.class).single();
        long recorded = jdbc.sql("select count(*) from approval_event where approval_id = cast(? as uuid)").param(id)
                .query(Long.class).single();
        assertThat(eventsOfA).isLessThan(recorded);

        // After max-attempts (3) failed deliveries each event to a is marked failed and kept, in order.
        String outbox = " from approval_webhook_outbox o where o.approval_id = cast(? as uuid) and o.receiver = 'a'";
        eventually(Duration.ofSeconds(30), () -> jdbc.sql("select count(*)" + outbox + " and o.failed_at is not null")
                .param(id).query(Long.class).single() == recorded);
        List<Map<String, Object>> rows = jdbc.sql("select o.attempts, o.delivered_at, o.last_error" + outbox).param(id).query().listOfRows();
        assertThat(rows).hasSize((int) recorded).allSatisfy(row -> {
            assertThat(row.get("attempts")).isEqualTo(3);
            assertThat(row.get("delivered_at")).isNull();
            assertThat(row.get("last_error")).isEqualTo("HTTP 503");
        });
        assertThat(events(id)).containsSubsequence("REQUESTED:" + pid(GATEWAY), "VOTED:" + pid("bob"), "APPROVED:" + pid("bob"),
                "CONSUMED:" + pid(GATEWAY));
    }
}

package io.agentpdp.approval;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import jakarta.annotation.PreDestroy;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * Delivers the webhook outbox, one row per event and receiver: claims due rows with a lease
 * ({@code for update skip locked}, so several PDP instances never send one row twice at once), posts each
 * outside any transaction, then marks it delivered or schedules the next attempt with exponential backoff;
 * after the last attempt the row is marked failed and kept. Receivers are served concurrently, each on its
 * own virtual thread, so a slow receiver delays only itself; per approval and receiver only the oldest
 * undelivered event is ever claimed, so events arrive in order (events of different approvals go out side
 * by side, a few at a time). Each delivery is a CloudEvents 1.0
 * structured JSON body signed with the receiver's secret: {@code X-PDP-Signature: v1=hex(HMAC-SHA256(secret,
 * timestamp + "." + body))} with {@code X-PDP-Timestamp} (Unix seconds). Nothing here runs on the decide path.
 */
@Component
class ApprovalWebhook {

    private static final Logger log = LoggerFactory.getLogger(ApprovalWebhook.class);
    private static final int BATCH = 50;
    private static final int PARALLEL_PER_RECEIVER = 8;
    static final String CONTENT_TYPE = "application/cloudevents+json; charset=utf-8";

    private final JdbcClient jdbc;
    private final ApprovalProperties properties;
    private final Clock clock;
    private final HttpClient http;
    private final ExecutorService receivers = Executors.newVirtualThreadPerTaskExecutor();
    private final Map<String, AtomicBoolean> busy = new ConcurrentHashMap<>();

    ApprovalWebhook(JdbcClient jdbc, ApprovalProperties properties, Clock clock) {
        this.jdbc = jdbc;
        this.properties = properties;
        this.clock = clock;
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(properties.webhookTimeout())
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    private record Delivery(long id, long eventId, String type, String payload, int attempts) {
    }

    /** Interval: pdp.approval.webhook-poll-interval (default as in {@link ApprovalProperties}). */
    @Scheduled(fixedDelayString = "${pdp.approval.webhook-poll-interval:1s}")
    void deliverDue() {
        for (ApprovalProperties.Receiver receiver : properties.webhooks()) {
            AtomicBoolean running = busy.computeIfAbsent(receiver.name(), name -> new AtomicBoolean());
            // A receiver still busy with its last round is left to it: it never holds up the others.
            if (running.compareAndSet(false, true)) {
                receivers.execute(() -> {
                    try {
                        deliverAll(receiver, claim(receiver));
                    } catch (RuntimeException e) {
                        log.warn("Approval webhook round for receiver {} failed; retrying at the next interval: {}",
                                receiver.name(), e.getMessage());
                    } finally {
                        running.set(false);
                    }
                });
            }
        }
    }

    /**
     * One round for one receiver: a claimed batch holds at most one event per approval (the oldest unsettled),
     * so its deliveries may run side by side, up to {@link #PARALLEL_PER_RECEIVER} at a time, and order per
     * approval still holds.
     */
    private void deliverAll(ApprovalProperties.Receiver receiver, List<Delivery> deliveries) {
        java.util.concurrent.Semaphore slots = new java.util.concurrent.Semaphore(PARALLEL_PER_RECEIVER);
        List<java.util.concurrent.Future<?>> running = new java.util.ArrayList<>();
        try {
            for (Delivery delivery : deliveries) {
                slots.acquire();
                running.add(receivers.submit(() -> {
                    try {
                        deliver(receiver, delivery);
                    } finally {
                        slots.release();
                    }
                }));
            }
            for (java.util.concurrent.Future<?> future : running) {
                future.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException e) {
            log.warn("Approval webhook delivery to receiver {} failed: {}", receiver.name(), e.getCause().toString());
        }
    }

    @PreDestroy
    void stop() {
        receivers.shutdownNow();
    }

    private List<Delivery> claim(ApprovalProperties.Receiver receiver) {
        long leaseMillis = properties.webhookTimeout().multipliedBy(2).plusSeconds(1).toMillis();
        return jdbc.sql("""
                update approval_webhook_outbox o
                set attempts = o.attempts + 1, next_attempt_at = now() + :lease * interval '1 millisecond'
                where o.id in (select x.id from approval_webhook_outbox x
                               where x.receiver = :receiver and x.delivered_at is null and x.failed_at is null
                                 and x.next_attempt_at <= now()
                                 -- in order per approval: an event waits until every earlier one is settled
                                 and not exists (select 1 from approval_webhook_outbox p
                                                 where p.receiver = x.receiver and p.approval_id = x.approval_id
                                                   and p.id < x.id and p.delivered_at is null and p.failed_at is null)
                               order by x.id limit :batch for update skip locked)
                returning o.id, o.event_id, o.payload ->> 'type' as type, cast(o.payload as text) as payload, o.attempts
                """)
                .param("lease", leaseMillis)
                .param("receiver", receiver.name())
                .param("batch", BATCH)
                .query((rs, n) -> new Delivery(rs.getLong("id"), rs.getLong("event_id"), rs.getString("type"),
                        rs.getString("payload"), rs.getInt("attempts")))
                .list()
                .stream()
                .sorted(Comparator.comparingLong(Delivery::id)) // RETURNING has no order; send in event order
                .toList();
    }

    private void deliver(ApprovalProperties.Receiver receiver, Delivery delivery) {
        String error;
        try {
            String timestamp = Long.toString(clock.instant().getEpochSecond());
            HttpResponse<Void> response = http.send(HttpRequest.newBuilder(receiver.url())
                            .timeout(properties.webhookTimeout())
                            .header("Content-Type", CONTENT_TYPE)
                            .header("User-Agent", "agent-pdp")
                            .header("Idempotency-Key", "approval-event-" + delivery.eventId())
                            .header("X-PDP-Timestamp", timestamp)
                            .header("X-PDP-Signature", "v1=" + signature(receiver.secret(), timestamp, delivery.payload()))
                            .POST(HttpRequest.BodyPublishers.ofString(delivery.payload(), StandardCharsets.UTF_8))
                            .build(),
                    HttpResponse.BodyHandlers.discarding());
            if (response.statusCode() / 100 == 2) {
                jdbc.sql("update approval_webhook_outbox set delivered_at = now(), last_error = null where id = :id")
                        .param("id", delivery.id())
                        .update();
                return;
            }
            error = "HTTP " + response.statusCode();
        } catch (IOException e) {
            error = e.getClass().getSimpleName() + ": " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            error = "interrupted";
        }
        failed(receiver, delivery, error);
    }

    /** hex(HMAC-SHA256(secret, timestamp + "." + body)): what a receiver recomputes to trust a delivery. */
    static String signature(String secret, String timestamp, String body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal((timestamp + "." + body).getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException("HMAC-SHA256 unavailable", e);
        }
    }

    private void failed(ApprovalProperties.Receiver receiver, Delivery delivery, String error) {
        if (delivery.attempts() >= properties.webhookMaxAttempts()) {
            log.warn("Approval webhook event {} ({}) to receiver {} failed after {} attempts ({}); giving up",
                    delivery.eventId(), delivery.type(), receiver.name(), delivery.attempts(), error);
            jdbc.sql("update approval_webhook_outbox set failed_at = now(), last_error = :error where id = :id")
                    .param("error", error)
                    .param("id", delivery.id())
                    .update();
            return;
        }
        Duration backoff = backoff(delivery.attempts());
        log.info("Approval webhook event {} to receiver {} attempt {} failed ({}); next in {}", delivery.eventId(),
                receiver.name(), delivery.attempts(), error, backoff);
        jdbc.sql("update approval_webhook_outbox set next_attempt_at = now() + :backoff * interval '1 millisecond',"
                        + " last_error = :error where id = :id")
                .param("backoff", backoff.toMillis())
                .param("error", error)
                .param("id", delivery.id())
                .update();
    }

    /** backoff · 2^(attempts−1), capped at the maximum backoff. */
    private Duration backoff(int attempts) {
        Duration wait = properties.webhookBackoff().multipliedBy(1L << Math.min(attempts - 1, 20));
        return wait.compareTo(properties.webhookMaxBackoff()) > 0 ? properties.webhookMaxBackoff() : wait;
    }
}

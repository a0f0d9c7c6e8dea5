package io.agentpdp.approval;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * Delivers the webhook outbox: claims due rows with a lease ({@code for update skip locked}, so
 * several PDP instances never send one row twice at once), posts each outside any transaction, then
 * marks it delivered or schedules the next attempt with exponential backoff; after the last attempt
 * the row is marked failed and kept. Nothing here runs on the decide path.
 */
@Component
class ApprovalWebhook {

    private static final Logger log = LoggerFactory.getLogger(ApprovalWebhook.class);
    private static final int BATCH = 50;

    private final JdbcClient jdbc;
    private final ApprovalProperties properties;
    private final HttpClient http;

    ApprovalWebhook(JdbcClient jdbc, ApprovalProperties properties) {
        this.jdbc = jdbc;
        this.properties = properties;
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(properties.webhookTimeout())
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    private record Delivery(long id, long eventId, String event, String payload, int attempts) {
    }

    /** Interval: pdp.approval.webhook-poll-interval (default as in {@link ApprovalProperties}). */
    @Scheduled(fixedDelayString = "${pdp.approval.webhook-poll-interval:1s}")
    void deliverDue() {
        if (!properties.webhookEnabled()) {
            return;
        }
        try {
            claim().forEach(this::deliver);
        } catch (RuntimeException e) {
            log.warn("Approval webhook delivery round failed; retrying at the next interval: {}", e.getMessage());
        }
    }

    private List<Delivery> claim() {
        long leaseMillis = properties.webhookTimeout().multipliedBy(2).plusSeconds(1).toMillis();
        return jdbc.sql("""
                update approval_webhook_outbox o
                set attempts = o.attempts + 1, next_attempt_at = now() + :lease * interval '1 millisecond'
                where o.id in (select id from approval_webhook_outbox
                               where delivered_at is null and failed_at is null and next_attempt_at <= now()
                               order by id limit :batch for update skip locked)
                returning o.id, o.event_id, o.payload ->> 'event' as event, cast(o.payload as text) as payload, o.attempts
                """)
                .param("lease", leaseMillis)
                .param("batch", BATCH)
                .query((rs, n) -> new Delivery(rs.getLong("id"), rs.getLong("event_id"), rs.getString("event"),
                        rs.getString("payload"), rs.getInt("attempts")))
                .list()
                .stream()
                .sorted(java.util.Comparator.comparingLong(Delivery::id)) // RETURNING has no order; send in event order
                .toList();
    }

    private void deliver(Delivery delivery) {
        String error;
        try {
            HttpResponse<Void> response = http.send(HttpRequest.newBuilder(properties.webhookUrl())
                            .timeout(properties.webhookTimeout())
                            .header("Content-Type", "application/json")
                            .header("User-Agent", "agent-pdp")
                            .header("X-Agent-Pdp-Event", delivery.event())
                            .header("Idempotency-Key", "approval-event-" + delivery.eventId())
                            .POST(HttpRequest.BodyPublishers.ofString(delivery.payload()))
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
        failed(delivery, error);
    }

    private void failed(Delivery delivery, String error) {
        if (delivery.attempts() >= properties.webhookMaxAttempts()) {
            log.warn("Approval webhook event {} failed after {} attempts ({}); giving up", delivery.eventId(),
                    delivery.attempts(), error);
            jdbc.sql("update approval_webhook_outbox set failed_at = now(), last_error = :error where id = :id")
                    .param("error", error)
                    .param("id", delivery.id())
                    .update();
            return;
        }
        Duration backoff = backoff(delivery.attempts());
        log.info("Approval webhook event {} attempt {} failed ({}); next in {}", delivery.eventId(), delivery.attempts(),
                error, backoff);
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

package io.agentpdp.approval;

import java.time.Duration;
import java.util.UUID;

import org.springframework.stereotype.Component;

import io.agentpdp.security.Caller;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * The enforcement point's wait for a verdict ({@code GET /v1/approvals/{id}?wait=}). A wait reads the request
 * once at its start and then only when it may have changed: when {@link ApprovalChanges} reports a change,
 * when the request's own expiry passes (expiry is a time, not a write: it needs no notification), and at the
 * end of the wait. No database connection is held in between. Only while the change listener is down does a
 * wait re-read every {@code poll-interval}.
 */
@Component
class ApprovalWaits {

    /** Wake just after the expiry instant, so that the re-read sees the request as expired. */
    private static final Duration PAST_EXPIRY = Duration.ofMillis(5);

    private final Approvals approvals;
    private final ApprovalChanges changes;
    private final WaitSlots slots;
    private final ApprovalProperties properties;
    private final Counter reads;

    ApprovalWaits(Approvals approvals, ApprovalChanges changes, WaitSlots slots, ApprovalProperties properties,
                  MeterRegistry meters) {
        this.approvals = approvals;
        this.changes = changes;
        this.slots = slots;
        this.properties = properties;
        this.reads = Counter.builder("pdp.approval.wait.reads")
                .description("Reads of an approval request by waiting long-polls (start, change, expiry, end of wait)")
                .register(meters);
    }

    /** Waits up to {@code wait} for the request to leave PENDING; answers it as it then is. */
    ApprovalView await(Caller caller, UUID id, Duration wait) throws InterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        try (WaitSlots.Slot slot = slots.acquire(caller);
             ApprovalChanges.Subscription subscription = changes.subscribe(id)) {
            while (true) {
                // Subscribed before reading: a change committed after this read wakes the wait below.
                Approvals.Observed observed;
                try {
                    observed = approvals.observe(caller.tenant(), id).orElseThrow(() -> Approvals.notFound(id));
                } finally {
                    reads.increment();
                }
                long left = deadline - System.nanoTime();
                if (!ApprovalRow.PENDING.equals(observed.row().status()) || left <= 0) {
                    return approvals.view(observed.row());
                }
                // Expiry on the database's clock, measured from this read: immune to this replica's clock skew.
                long untilExpired = Duration.between(observed.databaseNow(), observed.row().expiresAt()).plus(PAST_EXPIRY).toNanos();
                long sleep = Math.min(left, Math.max(untilExpired, PAST_EXPIRY.toNanos()));
                if (!changes.listening()) {
                    sleep = Math.min(sleep, properties.pollInterval().toNanos());
                }
                subscription.awaitChange(Duration.ofNanos(sleep));
            }
        }
    }
}

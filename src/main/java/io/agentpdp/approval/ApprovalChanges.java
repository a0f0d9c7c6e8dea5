package io.agentpdp.approval;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.jdbc.autoconfigure.JdbcConnectionDetails;
import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * Wakes the long-polls waiting on approvals when an approval changes. One dedicated connection per replica
 * LISTENs on {@value #CHANNEL}; a trigger on {@code approval} (V8) notifies the approval's id whenever its
 * status or expiry changes, at commit, whichever replica or job made the change. A waiting request holds no
 * database connection and reads the row again only when woken.
 *
 * <p>While the listener is not connected a notification can be missed: every waiter is woken when the
 * connection is lost (they then re-read at the slow {@code pdp.approval.poll-interval} until it is back) and
 * again when it is re-established, so a change made in between is seen at once.
 */
@Component
class ApprovalChanges implements SmartLifecycle {

    static final String CHANNEL = "approval_changed";

    private static final Logger log = LoggerFactory.getLogger(ApprovalChanges.class);
    /** How long the listener blocks for notifications before it probes its connection. */
    private static final int PROBE_INTERVAL_MILLIS = 10_000;
    private static final Duration MAX_RECONNECT_DELAY = Duration.ofSeconds(30);

    private final JdbcConnectionDetails database;
    private final ConcurrentHashMap<UUID, Set<Subscription>> subscriptions = new ConcurrentHashMap<>();
    private final AtomicInteger waiting = new AtomicInteger();
    private volatile boolean listening;
    private volatile boolean running;
    private volatile Connection connection;
    private volatile int backendPid;
    private Thread listener;

    ApprovalChanges(JdbcConnectionDetails database, MeterRegistry meters) {
        this.database = database;
        Gauge.builder("pdp.approval.waits", waiting, AtomicInteger::get)
                .description("Long-polls (GET /v1/approvals/{id}?wait=) waiting on this replica").register(meters);
        Gauge.builder("pdp.approval.listener.connected", this, changes -> changes.listening ? 1 : 0)
                .description("1 while this replica listens for approval changes (LISTEN/NOTIFY), else 0 (waits poll)")
                .register(meters);
    }

    /** Starts watching one approval; close the subscription when done. Subscribe before reading the row. */
    Subscription subscribe(UUID approvalId) {
        Subscription subscription = new Subscription(approvalId);
        subscriptions.computeIfAbsent(approvalId, id -> ConcurrentHashMap.newKeySet()).add(subscription);
        waiting.incrementAndGet();
        return subscription;
    }

    /** True while notifications are being received; otherwise a waiter must re-read on its own. */
    boolean listening() {
        return listening;
    }

    int waiting() {
        return waiting.get();
    }

    /** The database session of the listener (pg_stat_activity), for operators' logs and tests. */
    int backendPid() {
        return backendPid;
    }

    /** One waiter's view of the changes of one approval. */
    final class Subscription implements AutoCloseable {

        private final UUID approvalId;
        private final Semaphore changed = new Semaphore(0);

        private Subscription(UUID approvalId) {
            this.approvalId = approvalId;
        }

        /** Blocks until the approval may have changed (true) or the timeout has passed (false). */
        boolean awaitChange(Duration timeout) throws InterruptedException {
            boolean signalled = changed.tryAcquire(Math.max(0, timeout.toNanos()), TimeUnit.NANOSECONDS);
            changed.drainPermits();
            return signalled;
        }

        private void signal() {
            changed.release();
        }

        @Override
        public void close() {
            subscriptions.computeIfPresent(approvalId, (id, set) -> {
                set.remove(this);
                return set.isEmpty() ? null : set;
            });
            waiting.decrementAndGet();
        }
    }

    private void wake(UUID approvalId) {
        Set<Subscription> waiters = approvalId == null ? null : subscriptions.get(approvalId);
        if (waiters != null) {
            waiters.forEach(Subscription::signal);
        }
    }

    private void wakeAll() {
        subscriptions.values().forEach(waiters -> waiters.forEach(Subscription::signal));
    }

    private void listen() {
        Duration delay = Duration.ofSeconds(1);
        while (running) {
            try (Connection c = connect()) {
                try (Statement statement = c.createStatement()) {
                    statement.execute("LISTEN " + CHANNEL);
                    try (var result = statement.executeQuery("select pg_backend_pid()")) {
                        result.next();
                        backendPid = result.getInt(1);
                    }
                }
                connection = c;
                listening = true;
                delay = Duration.ofSeconds(1);
                log.info("Listening for approval changes (backend pid {})", backendPid);
                // Anything that changed before LISTEN took effect is seen by the waiters' re-read.
                wakeAll();
                PGConnection notifications = c.unwrap(PGConnection.class);
                while (running) {
                    PGNotification[] received = notifications.getNotifications(PROBE_INTERVAL_MILLIS);
                    if (received == null || received.length == 0) {
                        if (!c.isValid(5)) {
                            throw new SQLException("the listener connection is no longer valid");
                        }
                        continue;
                    }
                    for (PGNotification notification : received) {
                        if (CHANNEL.equals(notification.getName())) {
                            wake(parse(notification.getParameter()));
                        }
                    }
                }
            } catch (SQLException | RuntimeException e) {
                if (running) {
                    log.warn("Approval change listener disconnected ({}); long-polls re-read every poll interval; reconnecting in {}",
                            e.getMessage(), delay);
                }
            } finally {
                listening = false;
                connection = null;
                // Waiters switch to re-reading on their own until the listener is back.
                wakeAll();
            }
            if (running) {
                try {
                    Thread.sleep(delay);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                delay = delay.multipliedBy(2).compareTo(MAX_RECONNECT_DELAY) > 0 ? MAX_RECONNECT_DELAY : delay.multipliedBy(2);
            }
        }
    }

    /** A connection of its own, outside the pool: it stays open for LISTEN and never occupies a pooled one. */
    private Connection connect() throws SQLException {
        Properties properties = new Properties();
        if (database.getUsername() != null) {
            properties.setProperty("user", database.getUsername());
        }
        if (database.getPassword() != null) {
            properties.setProperty("password", database.getPassword());
        }
        properties.setProperty("ApplicationName", "agent-pdp approval listener");
        properties.setProperty("connectTimeout", "5");
        properties.setProperty("tcpKeepAlive", "true");
        return DriverManager.getConnection(database.getJdbcUrl(), properties);
    }

    private static UUID parse(String parameter) {
        try {
            return UUID.fromString(parameter);
        } catch (IllegalArgumentException | NullPointerException e) {
            return null;
        }
    }

    @Override
    public void start() {
        running = true;
        listener = Thread.ofPlatform().daemon().name("approval-change-listener").start(this::listen);
    }

    @Override
    public void stop() {
        running = false;
        Connection c = connection;
        if (c != null) {
            try {
                // abort, not close: it does not wait for the listener thread blocked in getNotifications.
                c.abort(Runnable::run);
            } catch (SQLException e) {
                // Best effort; the thread ends at its next probe either way.
            }
        }
        if (listener == null) {
            return;
        }
        listener.interrupt();
        try {
            listener.join(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }
}

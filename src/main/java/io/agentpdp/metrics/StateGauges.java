package io.agentpdp.metrics;

import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * State gauges for alerting: {@code pdp_approvals_pending} and {@code pdp_quarantines_active}, refreshed
 * on a schedule so that a scrape never costs a database query. -1 means the last refresh failed.
 */
@Component
class StateGauges {

    private static final Logger log = LoggerFactory.getLogger(StateGauges.class);

    private final JdbcClient jdbc;
    private final AtomicLong approvalsPending = new AtomicLong(-1);
    private final AtomicLong quarantinesActive = new AtomicLong(-1);

    StateGauges(JdbcClient jdbc, MeterRegistry registry) {
        this.jdbc = jdbc;
        Gauge.builder("pdp.approvals.pending", approvalsPending, AtomicLong::get)
                .description("Approval requests waiting for a human").register(registry);
        Gauge.builder("pdp.quarantines.active", quarantinesActive, AtomicLong::get)
                .description("Agents currently quarantined").register(registry);
    }

    @Scheduled(fixedDelayString = "${pdp.metrics.state-refresh:15s}", initialDelay = 0)
    void refresh() {
        try {
            approvalsPending.set(jdbc.sql("select count(*) from approval where status = 'PENDING'").query(Long.class).single());
            quarantinesActive.set(jdbc.sql("select count(*) from quarantine where active").query(Long.class).single());
        } catch (RuntimeException e) {
            approvalsPending.set(-1);
            quarantinesActive.set(-1);
            log.warn("Could not refresh state gauges: {}", e.getMessage());
        }
    }
}

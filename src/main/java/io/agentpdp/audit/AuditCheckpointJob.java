package io.agentpdp.audit;

import java.time.Duration;
import java.time.Instant;

import javax.sql.DataSource;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

import io.agentpdp.credential.TransitSigner;
import net.javacrumbs.shedlock.core.DefaultLockingTaskExecutor;
import net.javacrumbs.shedlock.core.LockConfiguration;
import net.javacrumbs.shedlock.core.LockingTaskExecutor;
import net.javacrumbs.shedlock.provider.jdbctemplate.JdbcTemplateLockProvider;
import net.javacrumbs.shedlock.provider.sql.DatabaseProduct;

/**
 * Signs the moved audit heads every {@code pdp.audit.checkpoint-interval}, off the decision path. A ShedLock
 * row (table shedlock, database clock) lets one replica per interval do it: held for 4/5 of the interval, so
 * the replicas' schedules cannot add up to more than about one signing round per interval.
 */
@Component
class AuditCheckpointJob {

    private static final Logger log = LoggerFactory.getLogger(AuditCheckpointJob.class);
    private static final String LOCK = "audit-checkpoint";

    private final AuditCheckpoints checkpoints;
    private final LockingTaskExecutor locks;
    private final Duration lockAtLeastFor;
    private final Duration lockAtMostFor;

    AuditCheckpointJob(AuditCheckpoints checkpoints, DataSource dataSource, AuditProperties properties) {
        this.checkpoints = checkpoints;
        this.locks = new DefaultLockingTaskExecutor(new JdbcTemplateLockProvider(JdbcTemplateLockProvider.Configuration
                .builder()
                .withJdbcTemplate(new JdbcTemplate(dataSource))
                .withTableName("shedlock")
                // Named rather than detected from connection metadata at each first use.
                .withDatabaseProduct(DatabaseProduct.POSTGRES_SQL)
                .usingDbTime()
                .build()));
        this.lockAtLeastFor = properties.checkpointInterval().multipliedBy(4).dividedBy(5);
        // A replica that dies while signing frees the lock after this; long enough for any signing round.
        Duration tenIntervals = properties.checkpointInterval().multipliedBy(10);
        this.lockAtMostFor = tenIntervals.compareTo(Duration.ofMinutes(1)) > 0 ? tenIntervals : Duration.ofMinutes(1);
    }

    /** Interval: pdp.audit.checkpoint-interval (default as in {@link AuditProperties}). */
    @Scheduled(fixedDelayString = "${pdp.audit.checkpoint-interval:10s}", initialDelayString = "${pdp.audit.checkpoint-interval:10s}")
    void checkpointMovedHeads() {
        try {
            locks.executeWithLock((Runnable) this::signMovedHeads,
                    new LockConfiguration(Instant.now(), LOCK, lockAtMostFor, lockAtLeastFor));
        } catch (RuntimeException e) {
            log.warn("Audit checkpoint round failed; retrying at the next interval: {}", e.getMessage());
        }
    }

    private void signMovedHeads() {
        try {
            int signed = checkpoints.checkpointMovedHeads();
            if (signed > 0) {
                log.debug("Signed {} audit checkpoint(s)", signed);
            }
        } catch (TransitSigner.TransitUnavailableException e) {
            log.warn("Audit checkpoints not signed, the transit key is unavailable; retrying at the next interval: {}",
                    e.getMessage());
        }
    }
}

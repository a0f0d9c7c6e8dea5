package io.agentpdp.decision;

import java.util.function.Supplier;

import javax.sql.DataSource;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.dao.TransientDataAccessResourceException;
import org.springframework.stereotype.Component;

import com.zaxxer.hikari.HikariDataSource;

/**
 * After a database restart every pooled connection is dead, and the pool would hand out one dead
 * connection per request until all are cycled. On a connection-level failure this evicts the idle
 * connections at once and tries once more; a second failure propagates (and the decision is DENY).
 * Only for statements that are safe to repeat: the context read, and the audit insert (its primary
 * key makes a repeat of a committed insert fail rather than duplicate).
 */
@Component
class DatabaseRetry {

    private static final Logger log = LoggerFactory.getLogger(DatabaseRetry.class);

    private final DataSource dataSource;

    DatabaseRetry(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    <T> T once(Supplier<T> statement) {
        try {
            return statement.get();
        } catch (DataAccessResourceFailureException | TransientDataAccessResourceException e) {
            log.warn("Database connection failed ({}); evicting idle connections and retrying once", e.getMessage());
            if (dataSource instanceof HikariDataSource hikari && hikari.getHikariPoolMXBean() != null) {
                hikari.getHikariPoolMXBean().softEvictConnections();
            }
            return statement.get();
        }
    }
}

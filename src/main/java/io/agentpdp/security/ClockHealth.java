package io.agentpdp.security;

import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

/**
 * Readiness of this replica's clock against the database's. The database decides every expiry on the
 * decision path, but token expiry ({@code exp}) can only be judged here: a replica whose clock is off by
 * more than {@code pdp.security.max-clock-offset} would accept expired tokens (if behind) or refuse valid
 * ones (if ahead), so it reports itself not ready and is taken out of rotation. A database it cannot
 * reach makes it DOWN too (never an error answer from the probe).
 */
// Health component "clock" (Boot drops the suffix); the bean name "clock" is the Clock itself.
@Component("clockHealthIndicator")
class ClockHealth extends AbstractHealthIndicator {

    private final JdbcClient jdbc;
    private final Clock clock;
    private final Duration maxOffset;

    ClockHealth(JdbcClient jdbc, Clock clock, SecurityProperties properties) {
        super("Clock offset to the database could not be measured");
        this.jdbc = jdbc;
        this.clock = clock;
        this.maxOffset = properties.maxClockOffset();
    }

    @Override
    protected void doHealthCheck(Health.Builder health) {
        Instant before = clock.instant();
        Instant database = jdbc.sql("select clock_timestamp()").query(Timestamp.class).single().toInstant();
        Instant after = clock.instant();
        // The database read its clock somewhere within the round trip: only what exceeds half of it counts.
        Duration roundTrip = Duration.between(before, after);
        Duration offset = Duration.between(before.plus(roundTrip.dividedBy(2)), database);
        Duration certain = offset.abs().minus(roundTrip.dividedBy(2));
        (certain.compareTo(maxOffset) > 0 ? health.down() : health.up()).withDetail("offset_ms", offset.toMillis());
    }
}

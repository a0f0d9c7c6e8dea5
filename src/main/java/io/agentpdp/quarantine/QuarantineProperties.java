package io.agentpdp.quarantine;

import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Kill-switch settings.
 *
 * @param denyThreshold                     DENY decisions of one agent within {@code denyWindow} that quarantine it (default 5)
 * @param denyWindow                        sliding window for the DENY count (default 1m)
 * @param rateThreshold                     decisions of one agent within {@code rateWindow} above which its rate is abnormal (default 120)
 * @param rateWindow                        sliding window for the rate (default 1m)
 * @param releaseRequiresDifferentPrincipal release only by someone other than who quarantined (default true)
 * @param revocationRetryInterval           how often failed revocations are retried (default 30s)
 * @param revocationMaxAttempts             attempts before a revocation is reported as given up (default 20; the token still expires)
 * @param cleanupInterval                   how often expired credential rows are removed (default 10m)
 * @param cleanupGrace                      how long past expiry a credential row is kept (default 1h)
 */
@ConfigurationProperties("pdp.quarantine")
record QuarantineProperties(@DefaultValue("5") int denyThreshold,
                            @DefaultValue("1m") Duration denyWindow,
                            @DefaultValue("120") int rateThreshold,
                            @DefaultValue("1m") Duration rateWindow,
                            @DefaultValue("true") boolean releaseRequiresDifferentPrincipal,
                            @DefaultValue("30s") Duration revocationRetryInterval,
                            @DefaultValue("20") int revocationMaxAttempts,
                            @DefaultValue("10m") Duration cleanupInterval,
                            @DefaultValue("1h") Duration cleanupGrace) {
}

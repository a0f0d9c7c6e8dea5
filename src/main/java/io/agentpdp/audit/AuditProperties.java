package io.agentpdp.audit;

import java.time.Duration;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Signed checkpoints of the audit chain.
 *
 * @param checkpointInterval how often the heads that moved are signed (default 10s); also the longest a DB owner
 *                           has to drop the newest records unseen (see docs/security.md)
 * @param transitMount       mount path of the Vault/OpenBao transit engine (default transit)
 * @param signingKey         transit key that signs checkpoints (default agent-pdp-audit; e.g. type ed25519). The PDP
 *                           needs only {@code <mount>/sign/<key>} and {@code <mount>/verify/<key>}
 */
@ConfigurationProperties("pdp.audit")
record AuditProperties(@DefaultValue("10s") Duration checkpointInterval,
                       @DefaultValue("transit") String transitMount,
                       @DefaultValue("agent-pdp-audit") String signingKey) {

    AuditProperties {
        if (checkpointInterval.isNegative() || checkpointInterval.isZero()) {
            throw new IllegalArgumentException("pdp.audit.checkpoint-interval must be positive, got " + checkpointInterval);
        }
        if (transitMount.isBlank() || signingKey.isBlank()) {
            throw new IllegalArgumentException("pdp.audit.transit-mount and pdp.audit.signing-key must not be blank");
        }
    }
}

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
 * @param linkInterval       how often each replica's linker appends the committed, not yet linked records to their
 *                           tenants' chains (default 200ms); a record is normally linked within 1 s of its commit
 */
@ConfigurationProperties("pdp.audit")
record AuditProperties(@DefaultValue("10s") Duration checkpointInterval,
                       @DefaultValue("transit") String transitMount,
                       @DefaultValue("agent-pdp-audit") String signingKey,
                       @DefaultValue("200ms") Duration linkInterval) {

    AuditProperties {
        if (checkpointInterval.isNegative() || checkpointInterval.isZero()) {
            throw new IllegalArgumentException("pdp.audit.checkpoint-interval must be positive, got " + checkpointInterval);
        }
        if (linkInterval.isNegative() || linkInterval.isZero() || linkInterval.compareTo(Duration.ofSeconds(1)) > 0) {
            throw new IllegalArgumentException("pdp.audit.link-interval must be positive and at most 1s, got " + linkInterval);
        }
        if (transitMount.isBlank() || signingKey.isBlank()) {
            throw new IllegalArgumentException("pdp.audit.transit-mount and pdp.audit.signing-key must not be blank");
        }
    }
}

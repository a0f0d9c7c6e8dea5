package io.agentpdp.audit;

import java.util.List;

import org.springframework.stereotype.Component;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.support.TransactionTemplate;

import io.agentpdp.credential.TransitSigner;

/**
 * Verifies a tenant's audit trail against what the database cannot forge: the chain is recomputed, must end at
 * the stored head, and must carry, at every checkpoint's seq, the hash that the transit key signed there.
 */
@Component
class AuditVerifier {

    private static final int VERIFY_BATCH = 500;

    private final AuditTrail trail;
    private final AuditCheckpoints checkpoints;
    private final TransitSigner transit;
    private final TransactionTemplate snapshot;

    AuditVerifier(AuditTrail trail, AuditCheckpoints checkpoints, TransitSigner transit,
                  PlatformTransactionManager transactions) {
        this.trail = trail;
        this.checkpoints = checkpoints;
        this.transit = transit;
        // Records, head and checkpoints from one snapshot: decisions written meanwhile cannot look like a mismatch.
        this.snapshot = new TransactionTemplate(transactions);
        snapshot.setIsolationLevel(TransactionDefinition.ISOLATION_REPEATABLE_READ);
        snapshot.setReadOnly(true);
    }

    private record Read(AuditVerification chain, List<AuditCheckpoint> checkpoints) {
    }

    /** What waits for the linker, from the same snapshot as the chain. */
    private static AuditVerification withPending(AuditTrail trail, String tenant, AuditVerification chain) {
        AuditTrail.Pending pending = trail.pending(tenant);
        return chain.withPending(pending.count(), pending.oldestDecidedAt(), trail.strayRecord(tenant).orElse(null));
    }

    /**
     * Verifies the tenant's trail. Throws when the transit key cannot be asked: checkpoints that cannot be
     * checked are never reported as valid.
     */
    AuditVerification verify(String tenant) throws TransitSigner.TransitUnavailableException {
        Read read = snapshot.execute(status -> {
            List<AuditCheckpoint> stored = checkpoints.all(tenant);
            AuditVerification chain = AuditChain.verify(tenant, trail.links(tenant), trail.head(tenant), stored);
            return new Read(withPending(trail, tenant, chain), stored);
        });
        List<AuditCheckpoint> stored = read.checkpoints();
        for (int from = 0; from < stored.size(); from += VERIFY_BATCH) {
            List<AuditCheckpoint> batch = stored.subList(from, Math.min(stored.size(), from + VERIFY_BATCH));
            List<Boolean> valid = transit.verify(checkpoints.key(),
                    batch.stream().map(AuditCheckpoint::signedBytes).toList(),
                    batch.stream().map(AuditCheckpoint::signature).toList());
            for (int i = 0; i < batch.size(); i++) {
                AuditCheckpoint checkpoint = batch.get(i);
                if (!valid.get(i) || checkpoint.keyVersion() != TransitSigner.keyVersion(checkpoint.signature())) {
                    return signatureInvalid(read.chain(), checkpoint, from + i);
                }
            }
        }
        return read.chain().withCheckpointsChecked(stored.size());
    }

    private static AuditVerification signatureInvalid(AuditVerification chain, AuditCheckpoint checkpoint, int checked) {
        return new AuditVerification(chain.tenant(), chain.recordsChecked(), false,
                AuditVerification.Kind.CHECKPOINT_SIGNATURE_INVALID,
                checkpoint.seq(), null, "the checkpoint for sequence " + checkpoint.seq() + " (signed_at "
                + checkpoint.signedAt() + ") does not carry a valid signature of the audit key: forged or altered",
                chain.headSeq(), checked, chain.latestCheckpoint(), null, chain.recordsPendingLink(),
                chain.oldestPendingLinkAt());
    }
}

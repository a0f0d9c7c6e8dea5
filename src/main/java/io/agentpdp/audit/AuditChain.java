package io.agentpdp.audit;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * The canonical content of a decision record and the hash chain over it. PostgreSQL computes the
 * links when writing ({@code sha256(previous || content)}); this class recomputes them to verify.
 */
final class AuditChain {

    private static final String GENESIS = "genesis";

    private AuditChain() {
    }

    record Link(long seq, String recordHash, AuditTrail.StoredDecision stored) {
    }

    /** Timestamps at the database's precision, so the content hashed on write is the content read back. */
    static AuditTrail.DecisionEntry normalised(AuditTrail.DecisionEntry d) {
        AuditTrail.CredentialEntry c = d.credential();
        AuditTrail.CredentialEntry credential = c == null ? null : new AuditTrail.CredentialEntry(c.accessor(),
                c.policies(), c.ttlSeconds(), micros(c.expiresAt()), c.numUses(), c.wrapped(), c.reusedFrom(),
                c.reusedAccessorHash());
        return new AuditTrail.DecisionEntry(d.id(), d.tenant(), d.agentId(), d.taskId(), d.parentDecisionId(),
                d.chainDepth(), d.tool(), d.action(), d.targetSystem(), d.targetResource(), d.classificationDeclared(),
                d.classificationStored(), d.classificationEffective(), d.outcome(), d.reasons(), d.cause(), d.obligations(),
                d.approvalId(), d.policyRevision(), d.caller(), credential, d.traceId(), micros(d.decidedAt()),
                d.identityVerified(), d.workloadSpiffeId());
    }

    /** Every recorded field, unit-separated, nulls explicit: changing any of them breaks the link. */
    static String content(AuditTrail.DecisionEntry d, String accessorHash) {
        AuditTrail.CredentialEntry c = d.credential();
        return String.join("\u001f",
                s(d.id()), s(d.tenant()), s(d.agentId()), s(d.taskId()), s(d.parentDecisionId()), s(d.chainDepth()),
                s(d.tool()), s(d.action()), s(d.targetSystem()), s(d.targetResource()), s(d.classificationDeclared()),
                s(d.classificationStored()), s(d.classificationEffective()), s(d.outcome()),
                String.join("\u001e", d.reasons()), String.join("\u001e", d.obligations()), s(d.approvalId()),
                s(d.policyRevision()), s(d.caller()), s(accessorHash),
                c == null ? "-" : c.ttlSeconds() + "/" + c.expiresAt() + "/" + c.numUses() + "/" + c.wrapped()
                        // Added with reuse: hashed only when set, so links written before it verify unchanged.
                        + (c.reusedFrom() == null ? "" : "/reused:" + c.reusedFrom()),
                s(d.traceId()), s(d.decidedAt()))
                // Added with the cause: hashed only when set, so links written before it verify unchanged.
                + (d.cause() == null ? "" : "\u001fcause:" + d.cause().wire())
                // Added with workload identities (V23): hashed only when set, as the cause.
                + (d.identityVerified() == null ? "" : "\u001fidentity:" + d.identityVerified() + "/" + s(d.workloadSpiffeId()));
    }

    /** The tenant's stored chain head: the seq and hash the next record chains from. */
    record Head(long seq, String hash) {
    }

    /**
     * Walks the chain from genesis and checks, at each link, its hash and every checkpoint at that seq; then
     * that the chain ends exactly at {@code head} and is not shorter than the latest checkpoint. Checkpoint
     * signatures are checked elsewhere (with Vault); {@code checkpoints} are ordered by seq.
     */
    static AuditVerification verify(String tenant, Stream<Link> links, Head head, List<AuditCheckpoint> checkpoints) {
        AuditCheckpoint latest = checkpoints.isEmpty() ? null : checkpoints.getLast();
        Long headSeq = head == null ? null : head.seq();
        String previous = GENESIS;
        long expectedSeq = 1;
        long checked = 0;
        int nextCheckpoint = 0;
        try (links) {
            for (Iterator<Link> it = links.iterator(); it.hasNext(); ) {
                Link link = it.next();
                AuditTrail.DecisionEntry d = link.stored().entry();
                if (link.seq() != expectedSeq) {
                    return broken(tenant, checked, AuditVerification.Kind.CHAIN_BROKEN, expectedSeq, d.id(),
                            "missing link: expected sequence " + expectedSeq + ", found " + link.seq(), headSeq, latest);
                }
                String expected = AuditTrail.sha256(previous + content(d, link.stored().accessorHash()));
                if (!expected.equals(link.recordHash())) {
                    return broken(tenant, checked, AuditVerification.Kind.CHAIN_BROKEN, link.seq(), d.id(),
                            "record content does not match its hash", headSeq, latest);
                }
                for (; nextCheckpoint < checkpoints.size() && checkpoints.get(nextCheckpoint).seq() <= link.seq(); nextCheckpoint++) {
                    AuditCheckpoint checkpoint = checkpoints.get(nextCheckpoint);
                    if (checkpoint.seq() != link.seq() || !checkpoint.headHash().equals(link.recordHash())) {
                        return broken(tenant, checked, AuditVerification.Kind.CHECKPOINT_MISMATCH, link.seq(), d.id(),
                                "the chain's hash at sequence " + link.seq() + " is not the one signed at "
                                        + checkpoint.signedAt() + ": the chain was rewritten", headSeq, latest);
                    }
                }
                previous = link.recordHash();
                expectedSeq++;
                checked++;
            }
        }
        if (head == null ? checked != 0 : head.seq() != checked || !head.hash().equals(previous)) {
            // The first seq where chain and head disagree.
            long at = head == null ? 1 : head.seq() == checked ? checked : Math.min(head.seq(), checked) + 1;
            return broken(tenant, checked, AuditVerification.Kind.HEAD_MISMATCH, at, null,
                    "the chain ends at sequence " + checked + " but the stored head names "
                            + (head == null ? "none" : "sequence " + head.seq() + (head.seq() == checked ? " with another hash" : "")),
                    headSeq, latest);
        }
        if (latest != null && latest.seq() > checked) {
            return broken(tenant, checked, AuditVerification.Kind.TRUNCATED_BELOW_CHECKPOINT, checked + 1, null,
                    "the chain ends at sequence " + checked + ", below the checkpoint signed at " + latest.signedAt()
                            + " for sequence " + latest.seq() + ": records were removed", headSeq, latest);
        }
        return new AuditVerification(tenant, checked, true, null, null, null, null, headSeq, 0, latest,
                latest == null ? checked : checked - latest.seq(), 0, null);
    }

    private static AuditVerification broken(String tenant, long checked, AuditVerification.Kind kind, long seq, UUID id,
                                            String problem, Long headSeq, AuditCheckpoint latest) {
        return new AuditVerification(tenant, checked, false, kind, seq, id, problem, headSeq, 0, latest, null, 0, null);
    }

    private static Instant micros(Instant instant) {
        return instant == null ? null : instant.truncatedTo(ChronoUnit.MICROS);
    }

    private static String s(Object value) {
        return Objects.toString(value, "-");
    }
}

package io.agentpdp.audit;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Iterator;
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
                d.approvalId(), d.policyRevision(), d.caller(), credential, d.traceId(), micros(d.decidedAt()));
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
                + (d.cause() == null ? "" : "\u001fcause:" + d.cause().wire());
    }

    static AuditTrail.ChainVerification verify(String tenant, Stream<Link> links) {
        String previous = GENESIS;
        long expectedSeq = 1;
        long checked = 0;
        try (links) {
            for (Iterator<Link> it = links.iterator(); it.hasNext(); ) {
                Link link = it.next();
                AuditTrail.DecisionEntry d = link.stored().entry();
                if (link.seq() != expectedSeq) {
                    return broken(tenant, checked, expectedSeq, d.id(), "missing link: expected sequence " + expectedSeq + ", found " + link.seq());
                }
                String expected = AuditTrail.sha256(previous + content(d, link.stored().accessorHash()));
                if (!expected.equals(link.recordHash())) {
                    return broken(tenant, checked, link.seq(), d.id(), "record content does not match its hash");
                }
                previous = link.recordHash();
                expectedSeq++;
                checked++;
            }
        }
        return new AuditTrail.ChainVerification(tenant, checked, true, null, null, null);
    }

    private static AuditTrail.ChainVerification broken(String tenant, long checked, long seq, UUID id, String problem) {
        return new AuditTrail.ChainVerification(tenant, checked, false, seq, id, problem);
    }

    private static Instant micros(Instant instant) {
        return instant == null ? null : instant.truncatedTo(ChronoUnit.MICROS);
    }

    private static String s(Object value) {
        return Objects.toString(value, "-");
    }
}

package io.agentpdp.audit;

import java.time.Instant;
import java.util.UUID;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Result of verifying a tenant's audit trail: the recomputed hash chain, its end against the stored head, and
 * every signed checkpoint against the chain. When invalid, {@code kind} and {@code brokenAtSeq} name the first
 * problem found.
 *
 * @param recordsChecked                links verified before the first broken one (all of them when valid)
 * @param headSeq                       the seq the stored chain head names (null: no head)
 * @param checkpointsChecked            signed checkpoints whose signatures were verified with the transit key
 * @param latestCheckpoint              the newest checkpoint (null, and left out of the answer: none yet)
 * @param recordsAfterLatestCheckpoint  records no checkpoint covers yet: the ones a DB owner could drop unseen
 * @param recordsPendingLink            records committed but not yet linked (not verified, not in recordsChecked)
 * @param oldestPendingLinkAt           the decision time of the oldest of them (null, and left out: none)
 */
record AuditVerification(String tenant, long recordsChecked, boolean valid, Kind kind, Long brokenAtSeq,
                         UUID brokenDecisionId, String problem, Long headSeq, int checkpointsChecked,
                         @JsonInclude(JsonInclude.Include.NON_NULL) AuditCheckpoint latestCheckpoint,
                         Long recordsAfterLatestCheckpoint, long recordsPendingLink,
                         @JsonInclude(JsonInclude.Include.NON_NULL) Instant oldestPendingLinkAt) {

    /** What is wrong, in the order verification looks for it. */
    enum Kind {
        /** A stored checkpoint's signature is not the transit key's signature of its content: forged or altered. */
        @JsonProperty("checkpoint_signature_invalid") CHECKPOINT_SIGNATURE_INVALID,
        /** A record's content does not match its hash, or a link is missing. */
        @JsonProperty("chain_broken") CHAIN_BROKEN,
        /** The chain's record at a checkpoint's seq has another hash than the one signed: the chain was rewritten. */
        @JsonProperty("checkpoint_mismatch") CHECKPOINT_MISMATCH,
        /** The chain does not end where the stored head says (seq and hash): records dropped, or the head moved. */
        @JsonProperty("head_mismatch") HEAD_MISMATCH,
        /** The chain is shorter than the latest signed checkpoint: its tail was cut (and the head rewound). */
        @JsonProperty("truncated_below_checkpoint") TRUNCATED_BELOW_CHECKPOINT,
        /** A record is neither in the chain nor pending for the linker: written around the PDP, or its entry deleted. */
        @JsonProperty("unlinked_record") UNLINKED_RECORD
    }

    AuditVerification withCheckpointsChecked(int checked) {
        return new AuditVerification(tenant, recordsChecked, valid, kind, brokenAtSeq, brokenDecisionId, problem, headSeq,
                checked, latestCheckpoint, recordsAfterLatestCheckpoint, recordsPendingLink, oldestPendingLinkAt);
    }

    /**
     * With what waits for the linker: counted, never verified. A record that is neither linked nor pending makes a
     * chain that verified otherwise invalid ({@link Kind#UNLINKED_RECORD}).
     */
    AuditVerification withPending(long pending, Instant oldest, UUID stray) {
        if (valid && stray != null) {
            return new AuditVerification(tenant, recordsChecked, false, Kind.UNLINKED_RECORD, null, stray,
                    "record " + stray + " is neither in the chain nor pending for the linker: it was written around the"
                            + " PDP or its pending entry was deleted", headSeq, checkpointsChecked, latestCheckpoint, null,
                    pending, oldest);
        }
        return new AuditVerification(tenant, recordsChecked, valid, kind, brokenAtSeq, brokenDecisionId, problem, headSeq,
                checkpointsChecked, latestCheckpoint, recordsAfterLatestCheckpoint, pending, oldest);
    }
}

package io.agentpdp.audit;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;

import io.agentpdp.credential.TransitSigner;

/**
 * Signs, stores, logs and reads the checkpoints of the tenants' audit chains. A head is signed only when it is
 * the chain's end (its record has its hash, no record follows it) and extends the tenant's latest checkpoint (the
 * record at the checkpoint's seq still has the signed hash): the PDP never vouches for a cut, rewound or
 * rewritten chain.
 */
@Component
class AuditCheckpoints {

    private static final Logger log = LoggerFactory.getLogger(AuditCheckpoints.class);
    private static final int SIGN_BATCH = 100;

    /** A tenant's head next to its latest checkpoint and the stored record hashes at both positions. */
    private static final String HEADS = """
            select h.tenant_id, h.seq, h.last_hash, c.seq as checkpoint_seq, c.head_hash as checkpoint_hash,
                (select l.record_hash from audit_link l where l.tenant_id = h.tenant_id and l.seq = h.seq)
                    as record_hash_at_head,
                (select l.record_hash from audit_link l where l.tenant_id = h.tenant_id and l.seq = c.seq)
                    as record_hash_at_checkpoint,
                exists (select 1 from audit_link l where l.tenant_id = h.tenant_id and l.seq > h.seq)
                    as records_after_head
            from audit_chain_head h
            left join lateral (select seq, head_hash from audit_checkpoint c where c.tenant_id = h.tenant_id
                               order by seq desc limit 1) c on true
            """;

    private final JdbcClient jdbc;
    private final AuditLinker linker;
    private final TransitSigner transit;
    private final TransitSigner.Key key;
    private final Clock clock;
    /** Tenants whose head the job refused to sign, with the reason last logged. */
    private final Map<String, String> reported = new ConcurrentHashMap<>();

    AuditCheckpoints(JdbcClient jdbc, AuditLinker linker, TransitSigner transit, AuditProperties properties, Clock clock) {
        this.jdbc = jdbc;
        this.linker = linker;
        this.transit = transit;
        this.key = new TransitSigner.Key(properties.transitMount(), properties.signingKey());
        this.clock = clock;
    }

    TransitSigner.Key key() {
        return key;
    }

    /** The chain's head does not extend the latest checkpoint: signing it would launder a cut or rewrite. */
    static final class HeadNotExtendingCheckpointException extends Exception {
        HeadNotExtendingCheckpointException(String message) {
            super(message);
        }
    }

    private record Head(String tenant, long seq, String hash, Long checkpointSeq, String checkpointHash,
                        String recordHashAtHead, String recordHashAtCheckpoint, boolean recordsAfterHead) {

        boolean signed() {
            return checkpointSeq != null && checkpointSeq == seq && hash.equals(checkpointHash);
        }

        /** Why this head must not be signed, or null if it extends the latest checkpoint. */
        String inconsistency() {
            if (!hash.equals(recordHashAtHead)) {
                return "the head (seq " + seq + ") does not match the stored record at that seq";
            }
            if (recordsAfterHead) {
                return "records follow the head (seq " + seq + "): the head was rewound";
            }
            if (checkpointSeq == null) {
                return null;
            }
            if (seq < checkpointSeq) {
                return "the head (seq " + seq + ") is behind the latest checkpoint (seq " + checkpointSeq + ")";
            }
            if (!checkpointHash.equals(recordHashAtCheckpoint)) {
                return "the record at the latest checkpoint's seq " + checkpointSeq + " no longer has the signed hash";
            }
            return null;
        }
    }

    /**
     * Signs the head of every tenant whose head moved since its latest checkpoint (in batches, one Vault call
     * each). Heads that do not extend their checkpoint are refused and logged as errors. Returns how many were signed.
     */
    int checkpointMovedHeads() throws TransitSigner.TransitUnavailableException {
        List<Head> moved = jdbc.sql(HEADS + " where c.seq is null or c.seq <> h.seq")
                .query((rs, row) -> head(rs))
                .list();
        List<Head> signable = new ArrayList<>(moved.size());
        for (Head head : moved) {
            String inconsistency = head.inconsistency();
            if (inconsistency == null) {
                reported.remove(head.tenant());
                signable.add(head);
            } else if (!inconsistency.equals(reported.put(head.tenant(), inconsistency))) {
                // Once per tenant and state, not at every interval.
                log.error("Audit chain of tenant {} not checkpointed: {}; GET /v1/audit/verify reports the details",
                        head.tenant(), inconsistency);
            }
        }
        int signed = 0;
        for (int from = 0; from < signable.size(); from += SIGN_BATCH) {
            signed += sign(signable.subList(from, Math.min(signable.size(), from + SIGN_BATCH))).size();
        }
        return signed;
    }

    /**
     * The checkpoint of the tenant's current head, signed now unless its latest checkpoint already covers it;
     * empty when the tenant has no records. The records committed before the call are linked first, so the checkpoint
     * covers them.
     */
    Optional<AuditCheckpoint> checkpoint(String tenant)
            throws TransitSigner.TransitUnavailableException, HeadNotExtendingCheckpointException {
        linker.link(tenant, true);
        Optional<Head> found = jdbc.sql(HEADS + " where h.tenant_id = :tenant")
                .param("tenant", tenant)
                .query((rs, row) -> head(rs))
                .optional();
        if (found.isEmpty()) {
            return Optional.empty();
        }
        Head head = found.get();
        if (!head.signed()) {
            String inconsistency = head.inconsistency();
            if (inconsistency != null) {
                log.error("Audit chain of tenant {} not checkpointed: {}", tenant, inconsistency);
                throw new HeadNotExtendingCheckpointException(inconsistency);
            }
            sign(List.of(head));
        }
        return at(tenant, head.seq());
    }

    private List<AuditCheckpoint> sign(List<Head> heads) throws TransitSigner.TransitUnavailableException {
        Instant signedAt = clock.instant().truncatedTo(ChronoUnit.MICROS);
        List<byte[]> inputs = heads.stream()
                .map(h -> AuditCheckpoint.signedBytes(h.tenant(), h.seq(), h.hash(), signedAt))
                .toList();
        List<TransitSigner.Signature> signatures = transit.sign(key, inputs);
        List<AuditCheckpoint> stored = new ArrayList<>(heads.size());
        for (int i = 0; i < heads.size(); i++) {
            Head head = heads.get(i);
            TransitSigner.Signature signature = signatures.get(i);
            AuditCheckpoint checkpoint = new AuditCheckpoint(head.tenant(), head.seq(), head.hash(), signedAt,
                    signature.keyVersion(), signature.value());
            // Another replica (or an on-demand request) may have signed the same head meanwhile: both are valid.
            int inserted = jdbc.sql("""
                    insert into audit_checkpoint (tenant_id, seq, head_hash, signed_at, key_version, signature)
                    values (:tenant, :seq, :hash, :signedAt, :keyVersion, :signature)
                    on conflict (tenant_id, seq) do nothing
                    """)
                    .param("tenant", checkpoint.tenant())
                    .param("seq", checkpoint.seq())
                    .param("hash", checkpoint.headHash())
                    .param("signedAt", Timestamp.from(checkpoint.signedAt()))
                    .param("keyVersion", checkpoint.keyVersion())
                    .param("signature", checkpoint.signature())
                    .update();
            if (inserted == 1) {
                // Shipped off-host, these lines hold every signed head even if the database is rewritten.
                log.atInfo()
                        .addKeyValue("audit.tenant", checkpoint.tenant())
                        .addKeyValue("audit.seq", checkpoint.seq())
                        .addKeyValue("audit.head_hash", checkpoint.headHash())
                        .addKeyValue("audit.signed_at", checkpoint.signedAt().toString())
                        .addKeyValue("audit.key_version", checkpoint.keyVersion())
                        .addKeyValue("audit.signature", checkpoint.signature())
                        .log("Audit checkpoint tenant={} seq={} head_hash={} signed_at={} key_version={} signature={}",
                                checkpoint.tenant(), checkpoint.seq(), checkpoint.headHash(), checkpoint.signedAt(),
                                checkpoint.keyVersion(), checkpoint.signature());
                stored.add(checkpoint);
            }
        }
        return stored;
    }

    /** Every checkpoint of the tenant, by seq. */
    List<AuditCheckpoint> all(String tenant) {
        return jdbc.sql("select * from audit_checkpoint where tenant_id = :tenant order by seq")
                .param("tenant", tenant)
                .query((rs, row) -> checkpoint(rs))
                .list();
    }

    /** One page of the tenant's checkpoints, newest first. */
    List<AuditCheckpoint> page(String tenant, int page, int size) {
        return jdbc.sql("select * from audit_checkpoint where tenant_id = :tenant order by seq desc limit :size offset :offset")
                .param("tenant", tenant)
                .param("size", size)
                .param("offset", (long) page * size)
                .query((rs, row) -> checkpoint(rs))
                .list();
    }

    long count(String tenant) {
        return jdbc.sql("select count(*) from audit_checkpoint where tenant_id = :tenant")
                .param("tenant", tenant)
                .query(Long.class)
                .single();
    }

    private Optional<AuditCheckpoint> at(String tenant, long seq) {
        return jdbc.sql("select * from audit_checkpoint where tenant_id = :tenant and seq = :seq")
                .param("tenant", tenant)
                .param("seq", seq)
                .query((rs, row) -> checkpoint(rs))
                .optional();
    }

    private static AuditCheckpoint checkpoint(ResultSet rs) throws SQLException {
        return new AuditCheckpoint(rs.getString("tenant_id"), rs.getLong("seq"), rs.getString("head_hash"),
                rs.getTimestamp("signed_at").toInstant(), rs.getInt("key_version"), rs.getString("signature"));
    }

    private static Head head(ResultSet rs) throws SQLException {
        return new Head(rs.getString("tenant_id"), rs.getLong("seq"), rs.getString("last_hash"),
                rs.getObject("checkpoint_seq", Long.class), rs.getString("checkpoint_hash"),
                rs.getString("record_hash_at_head"), rs.getString("record_hash_at_checkpoint"),
                rs.getBoolean("records_after_head"));
    }
}

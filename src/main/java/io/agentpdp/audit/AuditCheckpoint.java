package io.agentpdp.audit;

import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * A signed statement "tenant's chain had head_hash at seq, at signed_at". The signature is Vault's transit
 * signature (with the key of {@link AuditProperties#signingKey()}) over {@link #signedBytes()}.
 */
record AuditCheckpoint(String tenant, long seq, String headHash, Instant signedAt, int keyVersion, String signature) {

    private static final String FORMAT = "agent-pdp-audit-checkpoint/v1";

    /**
     * The canonical bytes that are signed: a header line, then each field as {@code name=<UTF-8 byte length>:<value>} on its own line, so
     * that no two checkpoints share them. signed_at is ISO-8601 UTC at microsecond precision.
     */
    static byte[] signedBytes(String tenant, long seq, String headHash, Instant signedAt) {
        StringBuilder text = new StringBuilder(FORMAT).append('\n');
        field(text, "tenant", tenant);
        field(text, "seq", Long.toString(seq));
        field(text, "head_hash", headHash);
        field(text, "signed_at", signedAt.toString());
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }

    byte[] signedBytes() {
        return signedBytes(tenant, seq, headHash, signedAt);
    }

    private static void field(StringBuilder text, String name, String value) {
        text.append(name).append('=').append(value.getBytes(StandardCharsets.UTF_8).length).append(':').append(value).append('\n');
    }
}

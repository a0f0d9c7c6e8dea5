package io.agentpdp.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Instant;

import org.junit.jupiter.api.Test;

import io.agentpdp.credential.TransitSigner;

/** The signed bytes of a checkpoint: stable, documented, and never shared by two different checkpoints. */
class AuditCheckpointBytesTest {

    private static final Instant AT = Instant.parse("2026-01-02T03:04:05.123456Z");

    @Test
    void theSignedBytesFollowTheDocumentedFormat() {
        assertThat(new String(AuditCheckpoint.signedBytes("acme", 42, "ab12", AT), StandardCharsets.UTF_8))
                .isEqualTo("agent-pdp-audit-checkpoint/v1\ntenant=4:acme\nseq=2:42\nhead_hash=4:ab12\n"
                        + "signed_at=27:2026-01-02T03:04:05.123456Z\n");
    }

    @Test
    void aTenantNameCannotImitateAnotherCheckpointsFields() {
        byte[] honest = AuditCheckpoint.signedBytes("acme", 42, "ab12", AT);
        // A tenant id crafted to contain what follows it in another checkpoint.
        byte[] crafted = AuditCheckpoint.signedBytes("acme\nseq=2:42", 42, "ab12", AT);
        assertThat(crafted).isNotEqualTo(honest);
        assertThat(AuditCheckpoint.signedBytes("acmé", 1, "x", AT))
                .as("lengths count UTF-8 bytes").asString(StandardCharsets.UTF_8).contains("tenant=5:acmé");
    }

    @Test
    void theKeyVersionIsReadFromVaultsSignaturePrefixOnly() {
        assertThat(TransitSigner.keyVersion("vault:v3:AAAA")).isEqualTo(3);
        assertThat(TransitSigner.keyVersion("vault:v12:AAAA")).isEqualTo(12);
        assertThat(TransitSigner.keyVersion("AAAA")).isEqualTo(-1);
        assertThat(TransitSigner.keyVersion("vault:vx:AAAA")).isEqualTo(-1);
        assertThat(TransitSigner.keyVersion(null)).isEqualTo(-1);
    }
}

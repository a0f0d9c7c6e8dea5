package io.agentpdp.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import io.agentpdp.support.Api;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;

/**
 * The decision trail is append-only for the application and tamper-evident for everyone else, including
 * the database's schema owner: the attacks below run as that role, on the real PostgreSQL, against a chain
 * anchored by checkpoints signed with the real OpenBao transit key.
 */
@ExtendWith(OutputCaptureExtension.class)
class AuditTrailIntegrityTest extends IntegrationTest {

    @Autowired
    private AuditTrail audit;

    /** Tenants whose chain a test tampered with. */
    private final List<String> tampered = new ArrayList<>();

    /**
     * Takes tampered chains out of the checkpoint job's view (it scans every tenant's head), so that a later
     * PDP on the same database (scripts/fuzz.sh fails on any ERROR log) does not report these attacks again.
     */
    @AfterEach
    void forgetTamperedChains() throws SQLException {
        try (Connection owner = owner(); PreparedStatement forget = owner.prepareStatement("delete from audit_chain_head where tenant_id = ?")) {
            for (String tenant : tampered) {
                forget.setString(1, tenant);
                forget.executeUpdate();
            }
        }
    }

    private static Connection owner() throws SQLException {
        return DriverManager.getConnection(STACK.postgresUrl(), STACK.ownerUser(), STACK.ownerPassword());
    }

    private Api.Answer verify(String tenant) {
        Api.Answer verification = api().get("/v1/audit/verify", TestJwts.token("sec", tenant, "security-admin"));
        assertThat(verification.status()).isEqualTo(200);
        return verification;
    }

    /** Signs the tenant's head now (POST /v1/audit/checkpoints) and returns the checkpoint. */
    private Api.Answer checkpointNow(String tenant) {
        Api.Answer checkpoint = api().post("/v1/audit/checkpoints", TestJwts.token("sec", tenant, "security-admin"), Map.of());
        assertThat(checkpoint.status()).isEqualTo(200);
        return checkpoint;
    }

    /** The id of the tenant's record linked at a seq, as SQL. */
    private static final String AT_SEQ = "(select decision_id from audit_link where tenant_id = '%s' and seq = %d)";

    /** What a DB owner who cuts the tail does: the records after seq and their links. */
    private static void deleteTailAbove(Statement sql, String tenant, long seq) throws SQLException {
        sql.executeUpdate("delete from decision_record where id in (select decision_id from audit_link where tenant_id = '"
                + tenant + "' and seq > " + seq + ")");
        sql.executeUpdate("delete from audit_link where tenant_id = '" + tenant + "' and seq > " + seq);
    }

    private static String recordHash(Statement sql, String tenant, long seq) throws SQLException {
        try (ResultSet rs = sql.executeQuery("select record_hash from audit_link where tenant_id = '" + tenant
                + "' and seq = " + seq)) {
            assertThat(rs.next()).isTrue();
            return rs.getString(1);
        }
    }

    /**
     * What an attacker who owns the schema and knows the (public) algorithm can do: rewrite every record hash
     * from genesis and the head so that the chain is internally consistent again.
     */
    private void recomputeChainAsOwner(String tenant) throws SQLException {
        try (Connection owner = owner()) {
            owner.setAutoCommit(false);
            List<UUID> ids = new ArrayList<>();
            try (Statement sql = owner.createStatement();
                 ResultSet rs = sql.executeQuery("select decision_id from audit_link where tenant_id = '" + tenant + "' order by seq")) {
                while (rs.next()) {
                    ids.add(rs.getObject(1, UUID.class));
                }
            }
            String previous = "genesis";
            try (PreparedStatement update = owner.prepareStatement("update audit_link set record_hash = ? where decision_id = ?")) {
                for (UUID id : ids) {
                    AuditTrail.StoredDecision stored = audit.findDecision(tenant, id).orElseThrow();
                    previous = AuditTrail.sha256(previous + AuditChain.content(stored.entry(), stored.accessorHash()));
                    update.setString(1, previous);
                    update.setObject(2, id);
                    update.executeUpdate();
                }
            }
            try (PreparedStatement head = owner.prepareStatement("update audit_chain_head set seq = ?, last_hash = ? where tenant_id = ?")) {
                head.setLong(1, ids.size());
                head.setString(2, previous);
                head.setString(3, tenant);
                head.executeUpdate();
            }
            owner.commit();
        }
    }

    private String tenantWithDecisions(int count) throws Exception {
        String tenant = newTenant();
        registerAgent(tenant, "agent-7", "o", new String[] {"crm.contacts.read"}, new String[] {"crm"});
        String token = TestJwts.token("gw-1", tenant, "decide");
        // Concurrent writers of one tenant must still form one unbroken chain.
        try (var pool = Executors.newFixedThreadPool(8)) {
            List<Callable<Integer>> calls = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                calls.add(() -> api().post("/v1/decisions", token,
                        request(tenant, "agent-7", "crm.contacts.read", "read", "crm", "contacts/1", "public")).status());
            }
            for (var f : pool.invokeAll(calls)) {
                assertThat(f.get()).isEqualTo(200);
            }
        }
        assertThat(verifyLinked(tenant).json().path("records_checked").asLong()).as("all linked").isEqualTo(count);
        return tenant;
    }

    @Test
    void concurrentDecisionsFormOneValidChain() throws Exception {
        String tenant = tenantWithDecisions(40);
        Api.Answer verification = verifyLinked(tenant);
        assertThat(verification.status()).isEqualTo(200);
        assertThat(verification.json().path("valid").asBoolean()).isTrue();
        assertThat(verification.json().path("records_checked").asLong()).isEqualTo(40);
        assertThat(verification.json().path("head_seq").asLong()).isEqualTo(40);
    }

    @Test
    void aTamperedRecordIsReportedAsTheFirstBrokenLink() throws Exception {
        String tenant = tenantWithDecisions(5);
        tampered.add(tenant);
        try (Connection owner = owner(); Statement sql = owner.createStatement()) {
            sql.executeUpdate("update decision_record set outcome = 'ALLOW', reasons = '{forged}' where tenant_id = '"
                    + tenant + "' and id = " + AT_SEQ.formatted(tenant, 3));
        }
        Api.Answer verification = api().get("/v1/audit/verify", TestJwts.token("sec", tenant, "security-admin"));
        assertThat(verification.json().path("valid").asBoolean()).isFalse();
        assertThat(verification.text("kind")).isEqualTo("chain_broken");
        assertThat(verification.json().path("broken_at_seq").asLong()).isEqualTo(3);
        assertThat(verification.json().path("records_checked").asLong()).isEqualTo(2);
    }

    @Test
    void aDeletedRecordIsReportedAsAMissingLink() throws Exception {
        String tenant = tenantWithDecisions(4);
        tampered.add(tenant);
        try (Connection owner = owner(); Statement sql = owner.createStatement()) {
            sql.executeUpdate("delete from decision_record where tenant_id = '" + tenant + "' and id = " + AT_SEQ.formatted(tenant, 2));
        }
        Api.Answer verification = api().get("/v1/audit/verify", TestJwts.token("sec", tenant, "security-admin"));
        assertThat(verification.json().path("valid").asBoolean()).isFalse();
        assertThat(verification.text("kind")).isEqualTo("chain_broken");
        assertThat(verification.json().path("broken_at_seq").asLong()).isEqualTo(2);
        assertThat(verification.text("problem")).contains("missing link");
    }

    @Test
    void aDeletedTailWithTheHeadLeftInPlaceIsAHeadMismatch() throws Exception {
        String tenant = tenantWithDecisions(5);
        tampered.add(tenant);
        try (Connection owner = owner(); Statement sql = owner.createStatement()) {
            deleteTailAbove(sql, tenant, 3);
        }
        Api.Answer verification = verify(tenant);
        assertThat(verification.json().path("valid").asBoolean()).isFalse();
        assertThat(verification.text("kind")).isEqualTo("head_mismatch");
        assertThat(verification.json().path("broken_at_seq").asLong()).isEqualTo(4);
        assertThat(verification.json().path("records_checked").asLong()).isEqualTo(3);
    }

    @Test
    void aDeletedTailWithARewoundHeadIsCaughtByTheSignedCheckpoint() throws Exception {
        String tenant = tenantWithDecisions(5);
        tampered.add(tenant);
        assertThat(checkpointNow(tenant).json().path("seq").asLong()).isEqualTo(5);
        try (Connection owner = owner(); Statement sql = owner.createStatement()) {
            owner.setAutoCommit(false);
            String third = recordHash(sql, tenant, 3);
            deleteTailAbove(sql, tenant, 3);
            sql.executeUpdate("update audit_chain_head set seq = 3, last_hash = '" + third + "' where tenant_id = '" + tenant + "'");
            owner.commit();
        }
        Api.Answer verification = verify(tenant);
        assertThat(verification.json().path("valid").asBoolean()).isFalse();
        assertThat(verification.text("kind")).isEqualTo("truncated_below_checkpoint");
        assertThat(verification.json().path("broken_at_seq").asLong()).isEqualTo(4);
        assertThat(verification.json().path("latest_checkpoint").path("seq").asLong()).isEqualTo(5);
        // The PDP does not vouch for the cut chain either.
        Api.Answer refused = api().post("/v1/audit/checkpoints", TestJwts.token("sec", tenant, "security-admin"), Map.of());
        assertThat(refused.status()).isEqualTo(409);
        assertThat(refused.text("detail")).contains("behind the latest checkpoint");
    }

    @Test
    void aRewoundHeadIsAHeadMismatch() throws Exception {
        String tenant = tenantWithDecisions(5);
        tampered.add(tenant);
        try (Connection owner = owner(); Statement sql = owner.createStatement()) {
            String third = recordHash(sql, tenant, 3);
            sql.executeUpdate("update audit_chain_head set seq = 3, last_hash = '" + third + "' where tenant_id = '" + tenant + "'");
        }
        Api.Answer verification = verify(tenant);
        assertThat(verification.json().path("valid").asBoolean()).isFalse();
        assertThat(verification.text("kind")).isEqualTo("head_mismatch");
        assertThat(verification.json().path("head_seq").asLong()).isEqualTo(3);
        assertThat(verification.json().path("broken_at_seq").asLong()).isEqualTo(4);
        // The PDP does not sign the rewound head, which would let the records after it be dropped later.
        Api.Answer refused = api().post("/v1/audit/checkpoints", TestJwts.token("sec", tenant, "security-admin"), Map.of());
        assertThat(refused.status()).isEqualTo(409);
        assertThat(refused.text("detail")).contains("the head was rewound");
    }

    @Test
    void aFullyRecomputedChainContradictsItsSignedCheckpoint() throws Exception {
        String tenant = tenantWithDecisions(5);
        tampered.add(tenant);
        String signedHead = checkpointNow(tenant).text("head_hash");
        try (Connection owner = owner(); Statement sql = owner.createStatement()) {
            sql.executeUpdate("update decision_record set outcome = 'ALLOW', reasons = '{forged}' where tenant_id = '"
                    + tenant + "' and id = " + AT_SEQ.formatted(tenant, 3));
        }
        recomputeChainAsOwner(tenant);
        try (Connection owner = owner(); Statement sql = owner.createStatement()) {
            assertThat(recordHash(sql, tenant, 5)).as("the attack rewrote the chain").isNotEqualTo(signedHead);
        }
        Api.Answer verification = verify(tenant);
        assertThat(verification.json().path("valid").asBoolean()).isFalse();
        assertThat(verification.text("kind")).isEqualTo("checkpoint_mismatch");
        // The on-demand checkpoint is at 5; the periodic job may also have signed 3 or 4 before the attack.
        long brokenAt = verification.json().path("broken_at_seq").asLong();
        assertThat(brokenAt).isBetween(3L, 5L);
        assertThat(verification.json().path("records_checked").asLong())
                .as("every recomputed link is consistent; only the signed hash exposes it").isEqualTo(brokenAt - 1);
    }

    @Test
    void aForgedCheckpointRowFailsItsSignature() throws Exception {
        String tenant = tenantWithDecisions(5);
        tampered.add(tenant);
        Api.Answer genuine = checkpointNow(tenant);
        try (Connection owner = owner(); Statement sql = owner.createStatement()) {
            sql.executeUpdate("update decision_record set outcome = 'ALLOW', reasons = '{forged}' where tenant_id = '"
                    + tenant + "' and id = " + AT_SEQ.formatted(tenant, 3));
        }
        recomputeChainAsOwner(tenant);
        // Replace the genuine checkpoints with one for the rewritten head, reusing the genuine signature.
        try (Connection owner = owner(); Statement sql = owner.createStatement()) {
            owner.setAutoCommit(false);
            String forgedHead = recordHash(sql, tenant, 5);
            sql.executeUpdate("delete from audit_checkpoint where tenant_id = '" + tenant + "'");
            sql.executeUpdate("insert into audit_checkpoint (tenant_id, seq, head_hash, signed_at, key_version, signature)"
                    + " values ('" + tenant + "', 5, '" + forgedHead + "', now(), 1, '" + genuine.text("signature") + "')");
            owner.commit();
        }
        Api.Answer verification = verify(tenant);
        assertThat(verification.json().path("valid").asBoolean()).isFalse();
        assertThat(verification.text("kind")).isEqualTo("checkpoint_signature_invalid");
        assertThat(verification.json().path("broken_at_seq").asLong()).isEqualTo(5);
    }

    @Test
    void aCheckpointOfTheCurrentHeadIsSignedOnDemandStoredAndLogged(CapturedOutput output) throws Exception {
        String tenant = tenantWithDecisions(3);
        Api.Answer checkpoint = checkpointNow(tenant);
        assertThat(checkpoint.json().path("seq").asLong()).isEqualTo(3);
        assertThat(checkpoint.text("signature")).startsWith("vault:v" + checkpoint.json().path("key_version").asInt() + ":");
        try (Connection owner = owner(); Statement sql = owner.createStatement()) {
            assertThat(checkpoint.text("head_hash")).isEqualTo(recordHash(sql, tenant, 3));
        }
        // Asked again for the same head: the same checkpoint, not a second signature.
        assertThat(checkpointNow(tenant).text("signature")).isEqualTo(checkpoint.text("signature"));
        Api.Answer page = api().get("/v1/audit/checkpoints?size=5", TestJwts.token("sec", tenant, "security-admin"));
        assertThat(page.status()).isEqualTo(200);
        assertThat(page.json().path("items").get(0).path("signature").asString()).isEqualTo(checkpoint.text("signature"));
        assertThat(page.json().path("items").get(0).path("tenant").asString()).isEqualTo(tenant);
        assertThat(output.getAll()).contains("Audit checkpoint tenant=" + tenant + " seq=3 head_hash=" + checkpoint.text("head_hash"));
        Api.Answer verification = verify(tenant);
        assertThat(verification.json().path("valid").asBoolean()).isTrue();
        assertThat(verification.json().path("checkpoints_checked").asInt()).isPositive();
        assertThat(verification.json().path("records_after_latest_checkpoint").asLong()).isZero();
    }

    @Test
    void aTenantWithoutRecordsHasNothingToCheckpoint() {
        String tenant = newTenant();
        Api.Answer refused = api().post("/v1/audit/checkpoints", TestJwts.token("sec", tenant, "security-admin"), Map.of());
        assertThat(refused.status()).isEqualTo(409);
        Api.Answer verification = verify(tenant);
        assertThat(verification.json().path("valid").asBoolean()).isTrue();
        assertThat(verification.json().path("records_checked").asLong()).isZero();
        assertThat(verification.json().has("latest_checkpoint")).isFalse();
    }

    @Test
    void checkpointsOfOtherTenantsAreNeverListed() throws Exception {
        String tenant = tenantWithDecisions(1);
        checkpointNow(tenant);
        Api.Answer other = api().get("/v1/audit/checkpoints", TestJwts.token("sec", newTenant(), "security-admin"));
        assertThat(other.status()).isEqualTo(200);
        assertThat(other.json().path("total").asLong()).isZero();
        assertThat(other.json().path("items").isEmpty()).isTrue();
    }

    @Test
    void theApplicationRoleCannotRewriteOrDeleteCheckpoints() throws Exception {
        String tenant = tenantWithDecisions(1);
        checkpointNow(tenant);
        try (Connection app = DriverManager.getConnection(STACK.postgresUrl(), STACK.appUser(), STACK.appPassword());
             Statement sql = app.createStatement()) {
            assertThatThrownBy(() -> sql.executeUpdate("update audit_checkpoint set head_hash = 'x' where tenant_id = '" + tenant + "'"))
                    .isInstanceOf(SQLException.class).hasMessageContaining("permission denied");
            assertThatThrownBy(() -> sql.executeUpdate("delete from audit_checkpoint where tenant_id = '" + tenant + "'"))
                    .isInstanceOf(SQLException.class).hasMessageContaining("permission denied");
            assertThatThrownBy(() -> sql.executeUpdate("truncate audit_checkpoint"))
                    .isInstanceOf(SQLException.class).hasMessageContaining("permission denied");
        }
    }

    @Test
    void theApplicationRoleCannotRewriteOrDeleteTheTrail() throws Exception {
        assertThat(STACK.appUser()).as("the app must run as a role other than the schema owner").isNotEqualTo(STACK.ownerUser());
        tenantWithDecisions(1);
        try (Connection app = DriverManager.getConnection(STACK.postgresUrl(), STACK.appUser(), STACK.appPassword());
             Statement sql = app.createStatement()) {
            assertThatThrownBy(() -> sql.executeUpdate("update decision_record set outcome = 'ALLOW'"))
                    .isInstanceOf(SQLException.class).hasMessageContaining("permission denied");
            assertThatThrownBy(() -> sql.executeUpdate("delete from decision_record"))
                    .isInstanceOf(SQLException.class).hasMessageContaining("permission denied");
            assertThatThrownBy(() -> sql.executeUpdate("truncate decision_record"))
                    .isInstanceOf(SQLException.class).hasMessageContaining("permission denied");
        }
    }

    @Test
    void onlySecurityAdminsVerifyOrReadOrTakeCheckpoints() {
        for (String scope : List.of("decide", "approver")) {
            String token = TestJwts.token("gw", "acme", scope);
            assertThat(api().get("/v1/audit/verify", token).status()).isEqualTo(403);
            assertThat(api().get("/v1/audit/checkpoints", token).status()).isEqualTo(403);
            assertThat(api().post("/v1/audit/checkpoints", token, Map.of()).status()).isEqualTo(403);
        }
        assertThat(api().get("/v1/audit/verify", null).status()).isEqualTo(401);
        assertThat(api().get("/v1/audit/checkpoints", null).status()).isEqualTo(401);
        assertThat(api().post("/v1/audit/checkpoints", null, Map.of()).status()).isEqualTo(401);
    }
}

package io.agentpdp.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;

import org.junit.jupiter.api.Test;
import org.springframework.test.context.TestPropertySource;

import io.agentpdp.support.Api;
import io.agentpdp.support.IntegrationTest;
import io.agentpdp.support.TestJwts;
import io.agentpdp.support.VaultProbe;
import tools.jackson.databind.JsonNode;

/** The PDP signs every moved head on its own, every pdp.audit.checkpoint-interval, verifiably outside the PDP. */
@TestPropertySource(properties = "pdp.audit.checkpoint-interval=1s")
class AuditCheckpointScheduleTest extends IntegrationTest {

    // Every PDP context of the test JVM shares the ShedLock row; one with the default 10s interval may hold it
    // for 8s, so wait a few of those intervals at most.
    private static final Duration PATIENCE = Duration.ofSeconds(30);

    private void decide(String tenant, int count) {
        String token = TestJwts.token("gw-1", tenant, "decide");
        for (int i = 0; i < count; i++) {
            assertThat(api().post("/v1/decisions", token, lowRiskRead(tenant)).status()).isEqualTo(200);
        }
    }

    private JsonNode awaitCheckpointAt(String tenant, long seq) throws InterruptedException {
        String token = TestJwts.token("sec", tenant, "security-admin");
        Instant deadline = Instant.now().plus(PATIENCE);
        while (Instant.now().isBefore(deadline)) {
            Api.Answer page = api().get("/v1/audit/checkpoints?page=0&size=1", token);
            assertThat(page.status()).isEqualTo(200);
            JsonNode newest = page.json().path("items").path(0);
            if (newest.path("seq").asLong() == seq) {
                return newest;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("no checkpoint at seq " + seq + " for " + tenant + " within " + PATIENCE);
    }

    /** The canonical bytes as docs/security.md describes them, built independently of the PDP's code. */
    private static byte[] documentedSignedBytes(JsonNode checkpoint) {
        StringBuilder text = new StringBuilder("agent-pdp-audit-checkpoint/v1\n");
        for (String field : new String[] {"tenant", "seq", "head_hash", "signed_at"}) {
            // Exactly the strings the API serves (signed_at included), as an outside verifier would take them.
            String value = checkpoint.path(field).asString();
            text.append(field).append('=').append(value.getBytes(StandardCharsets.UTF_8).length).append(':')
                    .append(value).append('\n');
        }
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void movedHeadsAreSignedPeriodicallyAndVerifiableWithTheTransitKey() throws Exception {
        String tenant = newTenant();
        registerAgent(tenant, "agent-7", "o", new String[] {"crm.contacts.read"}, new String[] {"crm"});
        decide(tenant, 3);
        JsonNode first = awaitCheckpointAt(tenant, 3);
        String storedHash = jdbc.sql("select record_hash from audit_link where tenant_id = ? and seq = 3")
                .param(tenant).query(String.class).single();
        assertThat(first.path("head_hash").asString()).isEqualTo(storedHash);

        // Anyone holding a token with transit/verify (here: the operator) can check it without the PDP.
        VaultProbe.Reply check = new VaultProbe(STACK.vaultUrl()).call("POST", "transit/verify/agent-pdp-audit",
                STACK.vaultRootToken(), "{\"input\":\"" + Base64.getEncoder().encodeToString(documentedSignedBytes(first))
                        + "\",\"signature\":\"" + first.path("signature").asString() + "\"}");
        assertThat(check.status()).isEqualTo(200);
        assertThat(check.json().path("data").path("valid").asBoolean()).isTrue();

        decide(tenant, 2);
        JsonNode second = awaitCheckpointAt(tenant, 5);
        assertThat(Instant.parse(second.path("signed_at").asString())).isAfter(Instant.parse(first.path("signed_at").asString()));
        Api.Answer verification = verifyLinked(tenant);
        assertThat(verification.json().path("valid").asBoolean()).isTrue();
        assertThat(verification.json().path("checkpoints_checked").asInt()).isGreaterThanOrEqualTo(2);
        assertThat(verification.json().path("latest_checkpoint").path("seq").asLong()).isEqualTo(5);
    }
}
